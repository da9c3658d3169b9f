package configfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	pool := "apiVersion: pylonlb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: %s\nspec:\n  addresses: [192.0.2.0/24]\n"
	for _, tc := range []struct {
		name, in string
		want     []string // kind/name
		err      string
	}{
		{"one object", strings.ReplaceAll(pool, "%s", "a"), []string{"IPAddressPool/a"}, ""},
		{"documents and empty ones", "---\n" + strings.ReplaceAll(pool, "%s", "a") + "---\n---\n# comment\n" + strings.ReplaceAll(pool, "%s", "b"),
			[]string{"IPAddressPool/a", "IPAddressPool/b"}, ""},
		{"JSON", `{"apiVersion":"pylonlb.io/v1beta1","kind":"Community","metadata":{"name":"c"}}`, []string{"Community/c"}, ""},
		{"empty input", "", nil, ""},
		{"not YAML", "a: b: c", nil, "f: document 1: not YAML"},
		{"a list", "- a\n- b\n", nil, "f: document 1: not an object"},
		{"other kind", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n", nil, `f: document 1: kind "Secret" of apiVersion "v1" is not a Pylon configuration object`},
		{"other version", "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: s\n", nil, `apiVersion "metallb.io/v1beta1" is not a Pylon`},
		{"unknown field", "apiVersion: pylonlb.io/v1beta1\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  myAsn: 1\n", nil, `f: document 1: BGPPeer: unknown field "spec.myAsn"`},
		{"no name", "apiVersion: pylonlb.io/v1beta1\nkind: BFDProfile\n", nil, "BFDProfile: metadata.name is required"},
		{"second document bad", strings.ReplaceAll(pool, "%s", "a") + "---\nkind: [\n", nil, "f: document 2: not YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode("f", strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecode: any input gives objects with a name or an error,
// never a panic.
func FuzzDecode(f *testing.F) {
	f.Add("apiVersion: pylonlb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n  addresses: [192.0.2.0/24]\n")
	f.Add("---\n---\n- x\n")
	f.Add(`{"apiVersion":"pylonlb.io/v1beta1","kind":"BGPPeer","metadata":{"name":"p"},"spec":{"myASN":1}}`)
	f.Fuzz(func(t *testing.T, in string) {
		objs, err := Decode("f", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetName() == "" {
				t.Fatalf("object without a name from %q", in)
			}
		}
	})
}
