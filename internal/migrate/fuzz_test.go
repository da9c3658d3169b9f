package migrate

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary text to the YAML parser and whatever it
// accepts to Convert and Render: none may panic, and an accepted document
// always converts or fails with an error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(metallbConfig))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: metallb.io/v1beta1\n  kind: Community\n  metadata: {name: c}\n  spec: {communities: [{name: a, value: '1:2'}]}\n"))
	f.Add([]byte("apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1e3, holdTime: 1h, passwordSecret: {name: s}, vrf: v}\n"))
	f.Add([]byte("---\n---\n{}"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse(data)
		if err != nil {
			return
		}
		res, err := Convert(objs, Options{})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Render(&buf, res); err != nil {
			t.Fatalf("Render: %v", err)
		}
		if _, err := Parse(buf.Bytes()); err == nil && len(res.Objects) > 0 {
			t.Fatalf("Parse accepted Pylon's output as MetalLB input:\n%s", buf.String())
		}
	})
}
