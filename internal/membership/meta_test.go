package membership

import (
	"errors"
	"fmt"
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
		{"answering", []byte{1, 2}, nodeMeta{Answering: true}, false},
		{"restarting", []byte{1, 4}, nodeMeta{Restarting: true}, false},
		{"unknown flags ignored", []byte{1, 0xf8}, nodeMeta{}, false},
		{"newer version, longer", []byte{2, 1, 9, 9}, nodeMeta{Draining: true}, false},
		{"empty", nil, nodeMeta{}, true},
		{"short", []byte{1}, nodeMeta{}, true},
		{"version 0", []byte{0, 1}, nodeMeta{}, true},
		{"interfaces", []byte{1, 0, 2, 4, 'e', 't', 'h', '0', 2, 'b', 'r'}, nodeMeta{Interfaces: []string{"eth0", "br"}}, false},
		{"truncated interfaces", []byte{1, 0, 2, 4, 'e', 't', 'h', '0', 9, 'b'}, nodeMeta{Interfaces: []string{"eth0"}}, false},
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
	for _, m := range []nodeMeta{{}, {Draining: true}, {Answering: true}, {Draining: true, Answering: true}, {Restarting: true, Answering: true}, {Interfaces: []string{"eth0", "bond0.100"}}} {
		got, err := decodeMeta(encodeMeta(m))
		if err != nil || !cmp.Equal(got, m) {
			t.Errorf("round trip of %+v: got %+v, %v", m, got, err)
		}
	}
	many := nodeMeta{}
	for i := range 40 {
		many.Interfaces = append(many.Interfaces, fmt.Sprintf("interface-name-%03d", i))
	}
	b := encodeMeta(many)
	if len(b) > 512 {
		t.Errorf("metadata of %d bytes exceeds memberlist's limit", len(b))
	}
	got, _ := decodeMeta(b)
	if len(got.Interfaces) != maxMetaInterfaces || got.Interfaces[0] != "interface-name-"[:15] {
		t.Errorf("long list decoded as %v", got.Interfaces)
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
		// Encoding normalises (bounds names and count) once; after that
		// the form is stable.
		norm, err := decodeMeta(encodeMeta(m))
		if err != nil {
			t.Fatalf("re-decoding %+v: %v", m, err)
		}
		again, err := decodeMeta(encodeMeta(norm))
		if err != nil || !cmp.Equal(again, norm) {
			t.Fatalf("re-encoding %+v (from %v) gave %+v, %v", norm, b, again, err)
		}
	})
}
