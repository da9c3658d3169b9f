//go:build e2e

package l2

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab"
)

// balancedServices is how many Services testBalanced spreads.
const balancedServices = 30

// testBalanced: the Services of a Balanced advertisement are spread over
// the 3 nodes under the bound ceil(1.25·m/n), every speaker agreeing with
// the pure placement: the client resolves each address to the predicted
// node and HTTP reaches it. When a node's link is cut, the two others take
// its Services, within the bound for two nodes, again as predicted.
func testBalanced(t *testing.T, s *suite) {
	ctx := context.Background()
	adv := `apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: even}
spec:
  ipAddressPools: [even]
  placement: Balanced
`
	if err := s.l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(adv)); err != nil {
		t.Fatal(err)
	}
	var svcs []service
	for i := range balancedServices {
		svcs = append(svcs, s.create(t, svcSpec{name: fmt.Sprintf("even-%02d", i), pool: "even"}))
	}
	loads := s.checkBalanced(t, svcs, s.live())
	busiest := ""
	for n, l := range loads {
		if busiest == "" || l > loads[busiest] {
			busiest = n
		}
	}
	if err := s.l.CutLink(ctx, busiest); err != nil {
		t.Fatal(err)
	}
	s.checkBalanced(t, svcs, s.live(busiest))
}

// checkBalanced waits until every Service is answered by the node the
// Balanced placement predicts among live, checks the bound and returns
// the number of Services per node.
func (s *suite) checkBalanced(t *testing.T, svcs []service, live []string) map[string]int {
	t.Helper()
	var sets [][]netip.Addr
	for _, svc := range svcs {
		sets = append(sets, svc.ips)
	}
	owners := BalancedOwners(sets, live)
	loads := map[string]int{}
	for _, svc := range svcs {
		owner := owners[svc.ips[0].String()]
		loads[owner]++
		s.waitOwner(t, svc, owner)
	}
	bound := (5*len(svcs) + 4*len(live) - 1) / (4 * len(live)) // ceil(1.25·m/n)
	for n, l := range loads {
		if l > bound {
			t.Errorf("%s answers for %d of %d Services on %d nodes, bound %d", n, l, len(svcs), len(live), bound)
		}
	}
	t.Logf("Balanced over %v: %v (bound %d)", live, loads, bound)
	return loads
}
