package plan

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/election"
	"github.com/pylonlb/pylon/internal/model"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
var cmpPrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func meta(name string, labels ...string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: "pylon-system", Labels: map[string]string{}}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Labels[labels[i]] = labels[i+1]
	}
	return m
}

func sel(kv ...string) []metav1.LabelSelector {
	s := metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return []metav1.LabelSelector{s}
}

func mustConfig(t *testing.T, o model.Objects) *model.Config {
	t.Helper()
	cfg, err := model.From(o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// lab is a base configuration: an L2 pool, a BGP pool and advertisements.
func lab() model.Objects {
	return model.Objects{
		Pools: []v1beta1.IPAddressPool{
			{ObjectMeta: meta("l2", "mode", "l2"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.77.100-192.168.77.199", "fd00:77::100/120"}}},
			{ObjectMeta: meta("bgp"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.50.0.0/24", "fd00:50::/120"}}},
			{ObjectMeta: meta("none"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.99.0.0/24"}}},
		},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"l2"}}}},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{{ObjectMeta: meta("bgp"), Spec: v1beta1.BGPAdvertisementSpec{
			IPAddressPools: []string{"bgp"}, Communities: []string{"65000:1"}}}},
		Peers: []v1beta1.BGPPeer{
			{ObjectMeta: meta("frr"), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.168.77.1"}},
			{ObjectMeta: meta("bird"), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64514, PeerAddress: "192.168.77.2", NodeSelectors: sel("rack", "a")}},
		},
	}
}

func nodes(names ...string) map[string]Node {
	m := map[string]Node{}
	for _, n := range names {
		m[n] = Node{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}
	}
	return m
}

func members(names ...string) []Member {
	var out []Member
	for _, n := range names {
		out = append(out, Member{Name: n, Interfaces: []string{"eth0"}})
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// key parses "namespace/name".
func key(s string) types.NamespacedName {
	ns, name, _ := strings.Cut(s, "/")
	return types.NamespacedName{Namespace: ns, Name: name}
}

func svc(k string, ips ...string) Service {
	return Service{Key: key(k), IPs: addrs(ips...), AnyReady: true, ReadyNodes: []string{"n1", "n2", "n3"}}
}

// owners maps each announced address to its owner.
func owners(p L2Plan) map[string]string {
	m := map[string]string{}
	for _, a := range p.Announcements {
		m[a.IP.String()] = a.Node
	}
	return m
}

func TestL2OwnerIsTheElectionWinner(t *testing.T) {
	cfg := mustConfig(t, lab())
	in := L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3"), Members: members("n1", "n2", "n3"),
		Services: []Service{svc("a/web", "192.168.77.100")}}
	p := L2(in)
	want, _ := election.Winner("192.168.77.100", []string{"n1", "n2", "n3"})
	if diff := cmp.Diff([]L2Announcement{{IP: addrs("192.168.77.100")[0], Node: want, Services: []types.NamespacedName{key("a/web")}}}, p.Announcements, cmpAddr); diff != "" {
		t.Errorf("announcements (-want +got):\n%s", diff)
	}
}

func TestL2Skips(t *testing.T) {
	o := lab()
	o.L2Advertisements = append(o.L2Advertisements, v1beta1.L2Advertisement{ObjectMeta: meta("only-gold"),
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"none"}, ServiceSelectors: sel("tier", "gold")}})
	cfg := mustConfig(t, o)
	noEP := svc("a/down", "192.168.77.101")
	noEP.AnyReady, noEP.ReadyNodes = false, nil
	local := svc("a/local", "192.168.77.102")
	local.Local, local.ReadyNodes = true, []string{"n9"} // endpoint on a node without a speaker
	in := L2Input{Config: cfg, Nodes: nodes("n1", "n2"), Members: members("n1", "n2"), Services: []Service{
		svc("a/outside", "172.16.0.1"), svc("a/bgp-only", "10.50.0.1"), svc("a/not-gold", "10.99.0.1"), noEP, local,
	}}
	p := L2(in)
	want := []Skipped{
		{addrs("10.50.0.1")[0], key("a/bgp-only"), ReasonNoAdvertisement},
		{addrs("192.168.77.101")[0], key("a/down"), ReasonNoEndpoints},
		{addrs("192.168.77.102")[0], key("a/local"), ReasonNoEndpoints},
		{addrs("10.99.0.1")[0], key("a/not-gold"), ReasonNoAdvertisement},
		{addrs("172.16.0.1")[0], key("a/outside"), ReasonNoPool},
	}
	if diff := cmp.Diff(want, p.Skipped, cmpAddr); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(p.Announcements) != 0 {
		t.Errorf("announced %v", p.Announcements)
	}
}

func TestL2Candidates(t *testing.T) {
	o := lab()
	o.L2Advertisements[0].Spec.NodeSelectors = sel("l2", "yes")
	o.L2Advertisements = append(o.L2Advertisements, v1beta1.L2Advertisement{ObjectMeta: meta("eth1-only"),
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"none"}, Interfaces: []string{"eth1", "eth9"}}})
	cfg := mustConfig(t, o)
	ns := nodes("n1", "n2", "n3", "n4", "n5")
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		ns[n].Labels["l2"] = "yes"
	}
	n3 := ns["n3"]
	n3.Excluded = true
	ns["n3"] = n3
	ms := members("n1", "n2", "n3", "n4", "n5")
	ms[1].Interfaces = []string{"eth0", "eth1"} // n2
	ms[3].Draining = true                       // n4
	local := svc("a/local", "192.168.77.110")
	local.Local, local.ReadyNodes = true, []string{"n2", "n3"}
	in := L2Input{Config: cfg, Nodes: ns, Members: ms, Services: []Service{
		svc("a/any", "192.168.77.111"), local, svc("a/eth1", "10.99.0.5"),
	}}
	p := L2(in)
	// a/any: candidates n1, n2 (n3 excluded, n4 draining, n5 not selected).
	want, _ := election.Winner("192.168.77.111", []string{"n1", "n2"})
	got := owners(p)
	if got["192.168.77.111"] != want {
		t.Errorf("a/any owner = %s, want %s", got["192.168.77.111"], want)
	}
	if got["192.168.77.110"] != "n2" {
		t.Errorf("a/local owner = %s, want n2 (n3 has the other endpoint but is excluded)", got["192.168.77.110"])
	}
	if got["10.99.0.5"] != "n2" {
		t.Errorf("a/eth1 owner = %s, want n2, the only node with eth1", got["10.99.0.5"])
	}
	for _, a := range p.Announcements {
		if a.IP.String() == "10.99.0.5" && !slices.Equal(a.Interfaces, []string{"eth1"}) {
			t.Errorf("a/eth1 interfaces = %v, want [eth1]", a.Interfaces)
		}
	}
}

func TestL2GroupsLandTogether(t *testing.T) {
	cfg := mustConfig(t, lab())
	ns := nodes("n1", "n2", "n3", "n4", "n5", "n6")
	ms := members("n1", "n2", "n3", "n4", "n5", "n6")
	for i := range 200 {
		v4 := netip.AddrFrom4([4]byte{192, 168, 77, byte(100 + i%100)})
		v6 := netip.MustParseAddr("fd00:77::100").As16()
		v6[15] = byte(i)
		// Pairs of Services share the v4 address; each is dual-stack.
		in := L2Input{Config: cfg, Nodes: ns, Members: ms, Services: []Service{
			{Key: key("a/x"), IPs: []netip.Addr{v4, netip.AddrFrom16(v6)}, AnyReady: true},
			{Key: key("a/y"), IPs: []netip.Addr{v4}, AnyReady: true},
		}}
		p := L2(in)
		if len(p.Announcements) != 2 || p.Announcements[0].Node != p.Announcements[1].Node {
			t.Fatalf("group split: %+v", p.Announcements)
		}
	}
}

func TestL2RemovingANodeMovesOnlyItsAddresses(t *testing.T) {
	cfg := mustConfig(t, lab())
	var svcs []Service
	for i := range 100 {
		svcs = append(svcs, svc("a/s"+string(rune('A'+i%26))+string(rune('a'+i/26)), netip.AddrFrom4([4]byte{192, 168, 77, byte(100 + i)}).String()))
	}
	before := owners(L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3"), Members: members("n1", "n2", "n3"), Services: svcs}))
	after := owners(L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3"), Members: members("n1", "n3"), Services: svcs}))
	moved := 0
	for ip, owner := range before {
		if owner != "n2" && after[ip] != owner {
			t.Errorf("%s moved from %s to %s when n2 left", ip, owner, after[ip])
		}
		if owner == "n2" {
			moved++
		}
	}
	if moved == 0 {
		t.Error("n2 owned nothing; the test proves nothing")
	}
}

func TestL2CordonedNodeGivesUpItsAddresses(t *testing.T) {
	cfg := mustConfig(t, lab())
	var svcs []Service
	for i := range 60 {
		svcs = append(svcs, svc(fmt.Sprintf("a/s%d", i), netip.AddrFrom4([4]byte{192, 168, 77, byte(100 + i)}).String()))
	}
	local := svc("a/local", "192.168.77.99")
	local.Local, local.ReadyNodes = true, []string{"n2"}
	svcs = append(svcs, local)
	ns := nodes("n1", "n2", "n3")
	before := owners(L2(L2Input{Config: cfg, Nodes: ns, Members: members("n1", "n2", "n3"), Services: svcs}))
	n2 := ns["n2"]
	n2.Cordoned = true
	ns["n2"] = n2
	after := owners(L2(L2Input{Config: cfg, Nodes: ns, Members: members("n1", "n2", "n3"), Services: svcs}))
	moved := 0
	for ip, owner := range before {
		switch {
		case ip == "192.168.77.99":
			if after[ip] != "n2" {
				t.Errorf("Local address with endpoints on n2 only moved to %q: a cordoned node is the last resort, not excluded", after[ip])
			}
		case owner == "n2":
			moved++
			if after[ip] == "n2" || after[ip] == "" {
				t.Errorf("%s stayed on cordoned n2 (now %q)", ip, after[ip])
			}
		case after[ip] != owner:
			t.Errorf("%s moved from %s to %s when n2 was cordoned", ip, owner, after[ip])
		}
	}
	if moved == 0 {
		t.Error("n2 owned nothing; the test proves nothing")
	}
	all := nodes("n1", "n2", "n3")
	for name, n := range all {
		n.Cordoned = true
		all[name] = n
	}
	if got := owners(L2(L2Input{Config: cfg, Nodes: all, Members: members("n1", "n2", "n3"), Services: svcs})); len(got) != len(before) {
		t.Errorf("every node cordoned: %d addresses announced, want all %d", len(got), len(before))
	}
}

// TestL2OrderIndependent feeds the same inputs in many orders.
func TestL2OrderIndependent(t *testing.T) {
	cfg := mustConfig(t, lab())
	var svcs []Service
	for i := range 50 {
		s := svc("a/s"+string(rune('A'+i)), netip.AddrFrom4([4]byte{192, 168, 77, byte(100 + i/2)}).String())
		if i%5 == 0 {
			s.Local, s.ReadyNodes = true, []string{"n2", "n4"}
		}
		svcs = append(svcs, s)
	}
	ms := members("n1", "n2", "n3", "n4")
	ms[2].Draining = true
	want := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3", "n4"), Members: ms, Services: svcs})
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		s2, m2 := slices.Clone(svcs), slices.Clone(ms)
		r.Shuffle(len(s2), func(i, j int) { s2[i], s2[j] = s2[j], s2[i] })
		r.Shuffle(len(m2), func(i, j int) { m2[i], m2[j] = m2[j], m2[i] })
		got := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3", "n4"), Members: m2, Services: s2})
		if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
			t.Fatalf("plan depends on input order (-want +got):\n%s", diff)
		}
	}
}

func TestBGPRoutes(t *testing.T) {
	o := lab()
	o.BGPAdvertisements = append(o.BGPAdvertisements, v1beta1.BGPAdvertisement{ObjectMeta: meta("agg"), Spec: v1beta1.BGPAdvertisementSpec{
		IPAddressPools: []string{"bgp"}, AggregationLength: ptr[int32](24), AggregationLengthV6: ptr[int32](120),
		Peers: []string{"bird"}, LocalPref: 200, Communities: []string{"large:1:2:3"}, NodeSelectors: sel("rack", "a")}})
	cfg := mustConfig(t, o)
	rackA := Node{Name: "n1", Labels: map[string]string{"rack": "a"}}
	rackB := Node{Name: "n2", Labels: map[string]string{"rack": "b"}}
	s := svc("a/web", "10.50.0.7", "fd00:50::7")
	p4, p6, agg4, agg6 := netip.MustParsePrefix("10.50.0.7/32"), netip.MustParsePrefix("fd00:50::7/128"),
		netip.MustParsePrefix("10.50.0.0/24"), netip.MustParsePrefix("fd00:50::/120")

	sessA := SessionPeers(cfg, rackA)
	routes, skipped := BGPRoutes(cfg, rackA, sessA, &s)
	want := []Route{
		{Prefix: agg4, Peers: []string{"bird"}, LocalPref: 200, LargeCommunities: []model.LargeCommunity{{GlobalAdmin: 1, LocalData1: 2, LocalData2: 3}}, Advertisement: "agg", Service: key("a/web")},
		{Prefix: p4, Peers: []string{"bird", "frr"}, Communities: []uint32{65000<<16 | 1}, Advertisement: "bgp", Service: key("a/web")},
		{Prefix: agg6, Peers: []string{"bird"}, LocalPref: 200, LargeCommunities: []model.LargeCommunity{{GlobalAdmin: 1, LocalData1: 2, LocalData2: 3}}, Advertisement: "agg", Service: key("a/web")},
		{Prefix: p6, Peers: []string{"bird", "frr"}, Communities: []uint32{65000<<16 | 1}, Advertisement: "bgp", Service: key("a/web")},
	}
	if diff := cmp.Diff(want, routes, cmpPrefix); diff != "" || len(skipped) != 0 {
		t.Errorf("rack a routes (-want +got):\n%s\nskipped %v", diff, skipped)
	}
	sessB := SessionPeers(cfg, rackB)
	routes, _ = BGPRoutes(cfg, rackB, sessB, &s)
	if len(routes) != 2 || routes[0].Prefix != p4 || !slices.Equal(routes[0].Peers, []string{"frr"}) {
		t.Errorf("rack b routes = %+v, want only the /32 and /128 to frr", routes)
	}
	excluded := rackA
	excluded.Excluded = true
	if r, _ := BGPRoutes(cfg, excluded, SessionPeers(cfg, excluded), &s); len(r) != 0 {
		t.Errorf("excluded node routes = %v", r)
	}
	local := s
	local.Local, local.ReadyNodes = true, []string{"n2"}
	if r, sk := BGPRoutes(cfg, rackA, sessA, &local); len(r) != 0 || len(sk) != 2 || sk[0].Reason != ReasonNoEndpoints {
		t.Errorf("Local without local endpoint: routes %v skipped %v", r, sk)
	}
	if r, _ := BGPRoutes(cfg, rackB, sessB, &local); len(r) != 2 {
		t.Errorf("Local with local endpoint: routes %v", r)
	}
}

func TestBGPCordonedNodeYields(t *testing.T) {
	cfg := mustConfig(t, lab())
	ns := nodes("n1", "n2", "n3")
	n2 := ns["n2"]
	n2.Cordoned = true
	ns["n2"] = n2
	s := svc("a/web", "10.50.0.7")
	if !YieldsToUncordoned(cfg, ns["n2"], &s, ns) {
		t.Error("cordoned n2 keeps a Cluster Service that n1 and n3 announce")
	}
	if YieldsToUncordoned(cfg, ns["n1"], &s, ns) {
		t.Error("n1, not cordoned, yields")
	}
	local := s
	local.Local, local.ReadyNodes = true, []string{"n2"}
	if YieldsToUncordoned(cfg, ns["n2"], &local, ns) {
		t.Error("cordoned n2 yields a Local Service only it can announce")
	}
	var list []Node
	for _, name := range []string{"n1", "n2", "n3"} {
		list = append(list, ns[name])
	}
	if got := BGPAnnouncers(cfg, list, &s).Nodes; !slices.Equal(got, []string{"n1", "n3"}) {
		t.Errorf("announcers %v, want [n1 n3]", got)
	}
	if got := BGPAnnouncers(cfg, list, &local).Nodes; !slices.Equal(got, []string{"n2"}) {
		t.Errorf("Local announcers %v, want [n2]", got)
	}
}

func TestMerge(t *testing.T) {
	pfx := netip.MustParsePrefix("10.50.0.0/24")
	p := Merge(pfx, []Route{
		{Prefix: pfx, Peers: []string{"b"}, LocalPref: 100, Communities: []uint32{2, 1}, Advertisement: "y"},
		{Prefix: pfx, Peers: []string{"a", "b"}, LocalPref: 300, Communities: []uint32{3}, Advertisement: "x"},
	})
	want := Path{Prefix: pfx, Peers: []string{"a", "b"}, LocalPref: 300, Communities: []uint32{1, 2, 3}, Conflict: []string{"x", "y"}}
	if diff := cmp.Diff(want, p, cmpPrefix); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// TestL2BalancedPlacement: the Services of a Balanced advertisement are
// spread under the bound, whatever the hash says; those of a Hash one keep
// their rendezvous winner.
func TestL2BalancedPlacement(t *testing.T) {
	o := lab()
	o.Pools = append(o.Pools, v1beta1.IPAddressPool{ObjectMeta: meta("even"),
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.78.0/24"}}})
	o.L2Advertisements = append(o.L2Advertisements, v1beta1.L2Advertisement{ObjectMeta: meta("even"),
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"even"}, Placement: v1beta1.L2PlacementBalanced}})
	cfg := mustConfig(t, o)
	all := []string{"n1", "n2", "n3"}
	for _, m := range []int{3, 30, 100} {
		var svcs []Service
		for i := range m {
			svcs = append(svcs, svc(fmt.Sprintf("a/even%d", i), fmt.Sprintf("192.168.78.%d", i)))
		}
		hashed := svc("a/hashed", "192.168.77.150")
		svcs = append(svcs, hashed)
		p := L2(L2Input{Config: cfg, Nodes: nodes(all...), Members: members(all...), Services: svcs})
		load := map[string]int{}
		for _, a := range p.Announcements {
			if a.IP == hashed.IPs[0] {
				if want, _ := election.Winner(a.IP.String(), all); a.Node != want {
					t.Errorf("m=%d: the Hash Service is on %s, want its winner %s", m, a.Node, want)
				}
				continue
			}
			load[a.Node]++
		}
		bound := (5*m + 4*len(all) - 1) / (4 * len(all)) // ceil(1.25 m / n)
		for n, l := range load {
			if l > bound {
				t.Errorf("m=%d: %s answers for %d Services, bound %d (loads %v)", m, n, l, bound, load)
			}
		}
		if len(p.Announcements) != m+1 {
			t.Errorf("m=%d: %d announcements, want %d", m, len(p.Announcements), m+1)
		}
	}
}
