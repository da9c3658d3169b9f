//go:build e2e

package l2

import (
	"context"
	"slices"
	"testing"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab"
)

// others returns the nodes of all except the given ones, in order.
func others(all []string, except ...string) []string {
	var out []string
	for _, n := range all {
		if !slices.Contains(except, n) {
			out = append(out, n)
		}
	}
	return out
}

// testTrafficPolicyLocal: with externalTrafficPolicy Local the address
// follows the node hosting the ready endpoint, and goes back to the hash
// winner once every node has one.
func testTrafficPolicyLocal(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "local", local: true})
	nodes := s.live()
	winner := predict(t, svc.ips, nodes)
	s.waitOwner(t, svc, winner)
	for _, n := range others(nodes, winner) {
		s.setReady(t, svc, []string{n}, true)
		s.waitOwner(t, svc, n)
		s.waitAnnouncedEvent(t, svc, svc.ips[0], n)
	}
	s.setReady(t, svc, nodes, true)
	s.waitOwner(t, svc, winner)
}

// testNodeSelectors: an advertisement with node selectors is announced
// only from the selected nodes: the address goes to the winner among
// them, and moves when the winner loses its label.
func testNodeSelectors(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.create(t, svcSpec{name: "selected", pool: "sel"})
	nodes := s.live()
	// Select every node but the overall winner, so the selection matters.
	selected := others(nodes, predict(t, svc.ips, nodes))
	yes := "yes"
	for _, n := range selected {
		if err := s.l.Admin.LabelNode(ctx, n, testLabel, &yes); err != nil {
			t.Fatal(err)
		}
	}
	adv := `apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: sel}
spec:
  ipAddressPools: [sel]
  nodeSelectors:
  - matchLabels: {"` + testLabel + `": "yes"}
`
	if err := s.l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(adv)); err != nil {
		t.Fatal(err)
	}
	owner := predict(t, svc.ips, selected)
	s.waitOwner(t, svc, owner)
	s.waitAnnouncedEvent(t, svc, svc.ips[0], owner)
	if err := s.l.Admin.LabelNode(ctx, owner, testLabel, nil); err != nil {
		t.Fatal(err)
	}
	s.waitOwner(t, svc, predict(t, svc.ips, others(selected, owner)))
}

// testExclusionLabel: the exclude-from-external-load-balancers label
// moves the address away from its owner, and removing it brings the
// address back.
func testExclusionLabel(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.create(t, svcSpec{name: "excluded"})
	nodes := s.live()
	owner := predict(t, svc.ips, nodes)
	s.waitOwner(t, svc, owner)
	empty := ""
	if err := s.l.Admin.LabelNode(ctx, owner, v1beta1.LabelExcludeFromLB, &empty); err != nil {
		t.Fatal(err)
	}
	next := predict(t, svc.ips, others(nodes, owner))
	s.waitOwner(t, svc, next)
	s.waitAnnouncedEvent(t, svc, svc.ips[0], next)
	if err := s.l.Admin.LabelNode(ctx, owner, v1beta1.LabelExcludeFromLB, nil); err != nil {
		t.Fatal(err)
	}
	s.waitOwner(t, svc, owner)
}
