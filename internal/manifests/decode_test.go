package manifests_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/internal/manifests"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // kind/name
		wantErr error
	}{
		{name: "empty", in: ""},
		{name: "separators and comments only", in: "---\n# nothing\n---\n"},
		{name: "one", in: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", want: []string{"Namespace/a"}},
		{
			name: "several with empty documents between",
			in:   "# head\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n",
			want: []string{"Namespace/a", "ServiceAccount/b"},
		},
		{name: "no kind", in: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: manifests.ErrNoKind},
		{name: "kind not a string", in: "apiVersion: v1\nkind: 3\n", wantErr: manifests.ErrNoKind},
		{name: "a list, not an object", in: "- a\n- b\n", wantErr: errAny},
		{name: "bad YAML", in: "a: [\n", wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := manifests.Decode([]byte(tt.in))
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("Decode error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

// TestDecodeIntegers checks that integers decode as int64, as from the API
// server, so rendered objects compare equal to stored ones.
func TestDecodeIntegers(t *testing.T) {
	objs, err := manifests.Decode([]byte("apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 2, mode: 0400}\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := objs[0].Object["spec"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"replicas": int64(2), "mode": int64(256)}, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: X\napiVersion: y/v1\n"))
	f.Add([]byte("---\n# c\n---\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := manifests.Decode(data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("decoded object without kind or apiVersion: %v", o.Object)
			}
		}
	})
}
