package clab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const small = `name: tiny
topology:
  nodes:
    switch: {kind: bridge}
    a: {kind: linux, image: alpine, labels: {pylon.role: node}, exec: ["ip addr add 10.0.0.1/24 dev eth1"]}
    b: {kind: linux, image: alpine}
  links:
  - endpoints: ["a:eth1", "switch:eth1"]
  - endpoints: ["b:eth1", "switch:eth2"]
`

func TestParse(t *testing.T) {
	topo, err := Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(topo.NodeNames(), ","); got != "a,b,switch" {
		t.Errorf("nodes %s", got)
	}
	if p := topo.Peer("b:eth1"); p != "switch:eth2" {
		t.Errorf("peer of b:eth1 = %q", p)
	}
	b, err := topo.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil || strings.Join(again.NodeNames(), ",") != "a,b,switch" || len(again.Topology.Links) != 2 {
		t.Errorf("round trip: %+v, %v", again, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, edit, from, want string }{
		{"unknown key", "  nodes:", "  nodez:", "unknown field"},
		{"bad kind", "kind: bridge", "kind: ovs", `node "switch": kind "ovs"`},
		{"no image", "b: {kind: linux, image: alpine}", "b: {kind: linux}", `node "b": kind linux needs an image`},
		{"unknown node", `"b:eth1", "switch:eth2"`, `"c:eth1", "switch:eth2"`, `links[1]: endpoint "c:eth1": no node "c"`},
		{"management interface", `"b:eth1", "switch:eth2"`, `"b:eth0", "switch:eth2"`, "eth0 is containerlab's management interface"},
		{"reused endpoint", `"b:eth1", "switch:eth2"`, `"a:eth1", "switch:eth2"`, `endpoint "a:eth1" is already used by links[0]`},
		{"bad endpoint", `"b:eth1", "switch:eth2"`, `"b", "switch:eth2"`, `endpoint "b": want NODE:ethN`},
		{"bad name", "name: tiny", "name: Tiny Lab", `name "Tiny Lab"`},
		{"three endpoints", `["b:eth1", "switch:eth2"]`, `["b:eth1", "switch:eth2", "a:eth2"]`, "3 endpoints, want 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(small, tc.edit, tc.from, 1)
			if in == small {
				t.Fatalf("edit %q not found", tc.edit)
			}
			_, err := Parse([]byte(in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(small))
	for _, name := range []string{"l2", "bgp"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "topologies", name+".clab.yml")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		topo, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// What parses renders and parses again to the same nodes and links.
		out, err := topo.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if strings.Join(again.NodeNames(), ",") != strings.Join(topo.NodeNames(), ",") || len(again.Topology.Links) != len(topo.Topology.Links) {
			t.Fatalf("round trip changed the topology: %q", out)
		}
	})
}
