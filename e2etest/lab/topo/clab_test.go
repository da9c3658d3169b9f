package topo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab/clab"
)

// TestShippedTopologies: the files in e2etest/topologies are what the lab
// makes (make generate renders them), and the lab reads them back.
func TestShippedTopologies(t *testing.T) {
	for _, tc := range []struct {
		file              string
		router2, segment2 bool
	}{{"l2.clab.yml", false, false}, {"bgp.clab.yml", true, false}, {"segments.clab.yml", false, true}} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "topologies", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			top, err := clab.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := SpecFromClab(top, "plab-0001-", &RootLink{Name: "plab0001"})
			if err != nil {
				t.Fatalf("%v (run make generate?)", err)
			}
			if spec.Nodes != 3 || spec.Router2 != tc.router2 || spec.Segment2 != tc.segment2 {
				t.Errorf("spec %+v, want 3 nodes, router2 %v, segment2 %v", spec, tc.router2, tc.segment2)
			}
		})
	}
}

// TestClabRefusesWhatTheLabDoesNotMake: a topology that differs from the
// lab's plan is refused, naming the difference.
func TestClabRefusesWhatTheLabDoesNotMake(t *testing.T) {
	plan, err := Plan(Spec{Prefix: "p-", Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*clab.Topology)
		want string
	}{
		{"other address", func(c *clab.Topology) {
			n := c.Topology.Nodes["node1"]
			n.Exec[1] = "ip addr add 192.168.77.99/24 dev eth1"
			c.Topology.Nodes["node1"] = n
		}, `node "node1": exec`},
		{"extra host", func(c *clab.Topology) {
			c.Topology.Nodes["spare"] = clab.Node{Kind: clab.KindLinux, Image: "x", Labels: map[string]string{RoleLabel: "client"}}
		}, `node "spare" is not one the lab makes`},
		{"no role", func(c *clab.Topology) {
			c.Topology.Nodes["spare"] = clab.Node{Kind: clab.KindLinux, Image: "x"}
		}, `node "spare": no pylon.role label`},
		{"moved link", func(c *clab.Topology) { c.Topology.Links[0].Endpoints[1] = "switch:eth9" }, "links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := plan.Containerlab("t")
			tc.edit(c)
			_, err := SpecFromClab(c, "p-", nil)
			if !errors.Is(err, clab.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := SpecFromClab(plan.Containerlab("t"), "p-", nil); err != nil {
		t.Errorf("the plan's own rendering: %v", err)
	}
}
