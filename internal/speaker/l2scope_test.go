package speaker

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

func TestL2ScopeFollowsGroups(t *testing.T) {
	ip := netip.MustParseAddr
	tr := newL2Track()
	svcs := map[string]plan.Service{
		"a": {Key: "a", IPs: []netip.Addr{ip("10.0.0.1"), ip("fd00::1")}},
		"b": {Key: "b", IPs: []netip.Addr{ip("fd00::1")}}, // shares a's IPv6
		"c": {Key: "c", IPs: []netip.Addr{ip("10.0.0.3")}},
	}
	for _, k := range []string{"a", "b", "c"} {
		tr.serviceChanged(k, nil, svcs[k].IPs)
	}
	members := []plan.Member{{Name: "n1"}}
	if _, _, full := tr.scope(svcs, members); !full {
		t.Fatal("first plan is not full")
	}
	tr.done()
	// c changes alone: only c is recomputed.
	tr.serviceChanged("c", svcs["c"].IPs, []netip.Addr{ip("10.0.0.4")})
	old := svcs["c"]
	svcs["c"] = plan.Service{Key: "c", IPs: []netip.Addr{ip("10.0.0.4")}}
	keys, ips, full := tr.scope(svcs, members)
	if full || !slices.Equal(keys, []string{"c"}) || !ips[old.IPs[0]] || !ips[ip("10.0.0.4")] || len(ips) != 2 {
		t.Errorf("scope = %v %v full=%t, want c with its old and new address", keys, ips, full)
	}
	tr.done()
	// b changes: its group includes a (shared address) and a's IPv4.
	tr.serviceChanged("b", svcs["b"].IPs, svcs["b"].IPs)
	keys, ips, _ = tr.scope(svcs, members)
	if !slices.Equal(keys, []string{"a", "b"}) || !ips[ip("10.0.0.1")] {
		t.Errorf("scope = %v %v, want a and b with a's IPv4", keys, ips)
	}
	tr.done()
	// Members change: everything.
	if _, _, full := tr.scope(svcs, []plan.Member{{Name: "n1"}, {Name: "n2"}}); !full {
		t.Error("a membership change did not ask for a full plan")
	}
}
