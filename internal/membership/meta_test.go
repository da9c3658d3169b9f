package membership

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeMeta(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    nodeMeta
		wantErr bool
	}{
		{"draining", []byte{1, 1}, nodeMeta{Draining: true}, false},
		{"not draining", []byte{1, 0}, nodeMeta{}, false},
		{"unknown flags ignored", []byte{1, 0xfe}, nodeMeta{}, false},
		{"newer version, longer", []byte{2, 1, 9, 9}, nodeMeta{Draining: true}, false},
		{"empty", nil, nodeMeta{}, true},
		{"short", []byte{1}, nodeMeta{}, true},
		{"version 0", []byte{0, 1}, nodeMeta{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMeta(tc.in)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errBadMeta)) {
				t.Fatalf("decodeMeta(%v) error = %v, want error %t", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decodeMeta(%v) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []nodeMeta{{}, {Draining: true}} {
		got, err := decodeMeta(encodeMeta(m))
		if err != nil || got != m {
			t.Errorf("round trip of %+v: got %+v, %v", m, got, err)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add([]byte{1, 1})
	f.Add([]byte{})
	f.Add([]byte{2, 0xff, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := decodeMeta(encodeMeta(m))
		if err != nil || again != m {
			t.Fatalf("re-encoding %+v (from %v) gave %+v, %v", m, b, again, err)
		}
	})
}
