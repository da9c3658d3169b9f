package speaker

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

func TestL2ScopeFollowsGroups(t *testing.T) {
	ip := netip.MustParseAddr
	tr := newL2Track()
	a, b, c := testKey("a"), testKey("b"), testKey("c")
	svcs := map[types.NamespacedName]plan.Service{
		a: {Key: a, IPs: []netip.Addr{ip("10.0.0.1"), ip("fd00::1")}},
		b: {Key: b, IPs: []netip.Addr{ip("fd00::1")}}, // shares a's IPv6
		c: {Key: c, IPs: []netip.Addr{ip("10.0.0.3")}},
	}
	for _, k := range []types.NamespacedName{a, b, c} {
		tr.serviceChanged(k, nil, svcs[k].IPs)
	}
	members := []plan.Member{{Name: "n1"}}
	if _, _, full := tr.scope(svcs, members); !full {
		t.Fatal("first plan is not full")
	}
	tr.done()
	// c changes alone: only c is recomputed.
	tr.serviceChanged(c, svcs[c].IPs, []netip.Addr{ip("10.0.0.4")})
	old := svcs[c]
	svcs[c] = plan.Service{Key: c, IPs: []netip.Addr{ip("10.0.0.4")}}
	keys, ips, full := tr.scope(svcs, members)
	if full || !slices.Equal(keys, []types.NamespacedName{c}) || !ips[old.IPs[0]] || !ips[ip("10.0.0.4")] || len(ips) != 2 {
		t.Errorf("scope = %v %v full=%t, want c with its old and new address", keys, ips, full)
	}
	tr.done()
	// b changes: its group includes a (shared address) and a's IPv4.
	tr.serviceChanged(b, svcs[b].IPs, svcs[b].IPs)
	keys, ips, _ = tr.scope(svcs, members)
	if !slices.Equal(keys, []types.NamespacedName{a, b}) || !ips[ip("10.0.0.1")] {
		t.Errorf("scope = %v %v, want a and b with a's IPv4", keys, ips)
	}
	tr.done()
	// Members change: everything.
	if _, _, full := tr.scope(svcs, []plan.Member{{Name: "n1"}, {Name: "n2"}}); !full {
		t.Error("a membership change did not ask for a full plan")
	}
	tr.done()
	// A member's subnets change: everything.
	withSubnet := []plan.Member{{Name: "n1"}, {Name: "n2", Interfaces: []string{"eth0"}, AddrsKnown: true,
		Addrs: []plan.InterfaceAddrs{{Name: "eth0", IPv4: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}}}}
	tr.scope(svcs, withSubnet)
	tr.done()
	withSubnet[1].Addrs = []plan.InterfaceAddrs{{Name: "eth0", IPv4: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}}}
	if _, _, full := tr.scope(svcs, withSubnet); !full {
		t.Error("a change of a member's subnets did not ask for a full plan")
	}
}

// TestL2IncrementalEqualsFull applies random Service changes and checks
// that recomputing only the touched groups gives the full plan's owners.
func TestL2IncrementalEqualsFull(t *testing.T) {
	o := model.Objects{
		Pools: []v1beta1.IPAddressPool{{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.0.0.0/27", "fd00::/123"}}}},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "l2"}}},
	}
	cfg, err := model.From(o)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]plan.Node{}
	var members []plan.Member
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		nodes[n] = plan.Node{Name: n}
		members = append(members, plan.Member{Name: n, Interfaces: []string{"eth0"}})
	}
	r := rand.New(rand.NewPCG(7, 8))
	addr := func() netip.Addr {
		if r.IntN(2) == 0 {
			return netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(12))}) // few addresses: much sharing
		}
		return netip.MustParseAddr(fmt.Sprintf("fd00::%x", r.IntN(12)))
	}
	svcs := map[types.NamespacedName]plan.Service{}
	tr := newL2Track()
	for step := range 2000 {
		key := testKey(fmt.Sprintf("ns/s%d", r.IntN(25)))
		old := svcs[key].IPs
		switch r.IntN(4) {
		case 0:
			delete(svcs, key)
		default:
			s := plan.Service{Key: key, AnyReady: r.IntN(5) > 0, Local: r.IntN(3) == 0, ReadyNodes: []string{"n2", "n4"}}
			for range 1 + r.IntN(2) {
				s.IPs = append(s.IPs, addr())
			}
			slices.SortFunc(s.IPs, netip.Addr.Compare)
			s.IPs = slices.Compact(s.IPs)
			svcs[key] = s
		}
		tr.serviceChanged(key, old, svcs[key].IPs)
		keys, ips, _ := tr.scope(svcs, members)
		var sub []plan.Service
		for _, k := range keys {
			if s, ok := svcs[k]; ok {
				sub = append(sub, s)
			}
		}
		tr.apply(ips, plan.L2(plan.L2Input{Config: cfg, Services: sub, Nodes: nodes, Members: members}))
		tr.done()
		full := plan.L2(plan.L2Input{Config: cfg, Services: slices.Collect(maps.Values(svcs)), Nodes: nodes, Members: members})
		want := map[netip.Addr]plan.L2Announcement{}
		for _, a := range full.Announcements {
			want[a.IP] = a
		}
		if diff := cmp.Diff(want, tr.ann, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Fatalf("step %d: incremental plan differs from the full one (-full +incremental):\n%s", step, diff)
		}
	}
}

// testKey parses "namespace/name" (a bare name has no namespace).
func testKey(s string) types.NamespacedName {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return types.NamespacedName{Namespace: ns, Name: name}
	}
	return types.NamespacedName{Name: s}
}
