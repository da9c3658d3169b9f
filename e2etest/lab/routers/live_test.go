package routers_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// network builds a one-node lab network and a directory the frr user can
// reach.
func network(t *testing.T, suffix string) (*topo.Topology, string) {
	t.Helper()
	prereq.Require(t, "ip", routers.BIRDPath, routers.BIRDCPath, routers.VtyshPath, filepath.Join(routers.FRRDir, "bgpd"))
	tp, err := topo.Plan(topo.Spec{Prefix: fmt.Sprintf("plabrt%d%s-", os.Getpid(), suffix), Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := topo.Build(ctx, tp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Destroy(context.Background(), tp) })
	dir, err := os.MkdirTemp("", "plab-routers-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	return tp, dir
}

const birdSpeaker = `log stderr all;
router id 192.168.77.11;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.7/32 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::7/128 blackhole; }
filter add_communities { bgp_community.add((64501,100)); bgp_large_community.add((64501,1,2)); accept; }
protocol bgp r4 { local as 64501; neighbor 192.168.77.254 as 64500; hold time 9; connect retry time 1; ipv4 { import none; export filter add_communities; }; }
protocol bgp r6 { local as 64501; neighbor fd00:77::254 as 64500; hold time 9; connect retry time 1; ipv6 { import none; export filter add_communities; }; }
`

// TestFRRRouterLearnsFromBIRD: FRR on the router learns a speaker's
// prefixes, with communities, and installs them in the kernel.
func TestFRRRouterLearnsFromBIRD(t *testing.T) {
	tp, dir := network(t, "f")
	ctx := context.Background()
	router, node := tp.MustHost("router"), tp.MustHost("node1")
	start := time.Now()
	frr, err := routers.StartFRR(ctx, routers.FRROptions{Name: "router", NS: router.NS, Dir: filepath.Join(dir, "frr"),
		Config: routers.BGPConfig{ASN: 64500, RouterID: router.IPv4(), Neighbors: []routers.Neighbor{
			{Addr: node.IPv4(), ASN: 64501}, {Addr: node.IPv6(), ASN: 64501}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer frr.Stop(ctx)
	t.Logf("FRR started in %v", time.Since(start).Round(time.Millisecond))
	bird, err := routers.StartBIRD(ctx, routers.BIRDOptions{Name: "node1", NS: node.NS, Dir: filepath.Join(dir, "bird"), Raw: birdSpeaker})
	if err != nil {
		t.Fatal(err)
	}
	defer bird.Stop(ctx)

	v4, v6 := netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:100::7/128")
	waitKernel(t, router, v4, node.IPv4(), "bgp")
	waitKernel(t, router, v6, node.Ifaces[0].LinkLocal(), "bgp") // FRR prefers the link-local next hop
	t.Logf("routes in the router's kernel %v after FRR start", time.Since(start).Round(time.Millisecond))

	ss, err := frr.Sessions(ctx)
	if err != nil || routers.CountEstablished(ss) != 2 {
		t.Errorf("FRR sessions = %+v, %v; want 2 established", ss, err)
	}
	rs, err := frr.Routes(ctx)
	if err != nil || !slices.Contains(routers.Prefixes(rs), v4) || !slices.Contains(routers.Prefixes(rs), v6) {
		t.Errorf("FRR routes = %+v, %v", rs, err)
	}
	d, err := frr.RouteDetail(ctx, v4.String())
	if err != nil || len(d) != 1 || !slices.Equal(d[0].Communities, []string{"64501:100"}) ||
		!slices.Equal(d[0].LargeCommunities, []string{"64501:1:2"}) || d[0].NextHop != node.IPv4() {
		t.Errorf("FRR detail of %s = %+v, %v", v4, d, err)
	}
	if err := frr.Stop(ctx); err != nil {
		t.Errorf("FRR stop: %v", err)
	}
	if rs, _ := routers.KernelRoutes(ctx, router.NS); hasProto(rs, "bgp") {
		t.Errorf("BGP routes left in the kernel after FRR stop: %+v", rs)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "frr", "*.pid")); len(left) > 0 {
		t.Errorf("pid files left: %v", left)
	}
}

const frrSpeaker = `router bgp 64501
 bgp router-id 192.168.77.11
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor 192.168.77.254 remote-as 64500
 neighbor 192.168.77.254 timers connect 1
 address-family ipv4 unicast
  network 198.51.100.8/32 route-map SET
  neighbor 192.168.77.254 activate
 exit-address-family
exit
route-map SET permit 10
 set community 64501:200
 set large-community 64501:3:4
exit
`

// TestBIRDRouterLearnsFromFRR: BIRD on the router, with a dynamic
// neighbour range, learns a speaker's prefix and installs it in the kernel.
func TestBIRDRouterLearnsFromFRR(t *testing.T) {
	tp, dir := network(t, "b")
	ctx := context.Background()
	router, node := tp.MustHost("router"), tp.MustHost("node1")
	bird, err := routers.StartBIRD(ctx, routers.BIRDOptions{Name: "router", NS: router.NS, Dir: filepath.Join(dir, "bird"),
		Config: routers.BGPConfig{ASN: 64500, RouterID: router.IPv4(),
			Listen: []routers.ListenRange{{Prefix: topo.LANv4, ASN: 64501}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer bird.Stop(ctx)
	frr, err := routers.StartFRR(ctx, routers.FRROptions{Name: "node1", NS: node.NS, Dir: filepath.Join(dir, "frr"), RawBGPD: frrSpeaker})
	if err != nil {
		t.Fatal(err)
	}
	defer frr.Stop(ctx)

	p := netip.MustParsePrefix("198.51.100.8/32")
	waitKernel(t, router, p, node.IPv4(), "bird")
	ss, err := bird.Sessions(ctx)
	if err != nil || routers.CountEstablished(ss) != 1 || ss[0].Peer != node.IPv4() {
		t.Errorf("BIRD sessions = %+v, %v; want node1 established", ss, err)
	}
	rs, err := bird.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got *routers.Route
	for i := range rs {
		if rs[i].Prefix == p {
			got = &rs[i]
		}
	}
	if got == nil || got.NextHop != node.IPv4() || !slices.Equal(got.Communities, []string{"64501:200"}) ||
		!slices.Equal(got.LargeCommunities, []string{"64501:3:4"}) {
		t.Errorf("BIRD route for %s = %+v (all: %+v)", p, got, rs)
	}
}

func waitKernel(t *testing.T, h topo.Host, dst netip.Prefix, via netip.Addr, proto string) {
	t.Helper()
	err := wait.For(context.Background(), 30*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		rs, err := routers.KernelRoutes(ctx, h.NS)
		r, ok := routers.KernelRouteTo(rs, dst)
		return ok && r.Proto == proto && slices.Contains(r.NextHops, via), err
	})
	if err != nil {
		rs, _ := routers.KernelRoutes(context.Background(), h.NS)
		t.Fatalf("no %s route to %s via %s in %s: %v (routes: %+v)", proto, dst, via, h.Name, err, rs)
	}
}

func hasProto(rs []routers.KernelRoute, proto string) bool {
	for _, r := range rs {
		if r.Proto == proto {
			return true
		}
	}
	return false
}

const birdBFDSpeaker = `log stderr all;
router id 192.168.77.11;
protocol device {}
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol static s4 { ipv4; route 198.51.100.9/32 blackhole; }
protocol bgp r4 { local as 64501; neighbor 192.168.77.254 as 64500; hold time 9; connect retry time 1; error wait time 1, 5; bfd on; ipv4 { import none; export all; }; }
`

// TestFRRBFDWithdrawsOnLinkCut: with BFD, FRR withdraws a speaker's route
// from its kernel well before the 9 s hold time when the speaker's link is
// cut (what the BGP suite's BFD case needs from the harness).
func TestFRRBFDWithdrawsOnLinkCut(t *testing.T) {
	tp, dir := network(t, "d")
	ctx := context.Background()
	router, node := tp.MustHost("router"), tp.MustHost("node1")
	frr, err := routers.StartFRR(ctx, routers.FRROptions{Name: "router", NS: router.NS, Dir: filepath.Join(dir, "frr"),
		Config: routers.BGPConfig{ASN: 64500, RouterID: router.IPv4(),
			Neighbors: []routers.Neighbor{{Addr: node.IPv4(), ASN: 64501, BFD: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer frr.Stop(ctx)
	bird, err := routers.StartBIRD(ctx, routers.BIRDOptions{Name: "node1", NS: node.NS, Dir: filepath.Join(dir, "bird"), Raw: birdBFDSpeaker})
	if err != nil {
		t.Fatal(err)
	}
	defer bird.Stop(ctx)
	p := netip.MustParsePrefix("198.51.100.9/32")
	waitKernel(t, router, p, node.IPv4(), "bgp")
	err = wait.For(ctx, 10*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		peers, err := frr.BFDPeers(ctx)
		return len(peers) == 1 && peers[0].Status == "up", err
	})
	if err != nil {
		peers, _ := frr.BFDPeers(ctx)
		t.Fatalf("BFD session not up: %v (%+v)", err, peers)
	}
	t0 := time.Now()
	if err := tp.SetLink(ctx, "node1", false); err != nil {
		t.Fatal(err)
	}
	err = wait.For(ctx, 15*time.Second, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		rs, err := routers.KernelRoutes(ctx, router.NS)
		_, ok := routers.KernelRouteTo(rs, p)
		return !ok, err
	})
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("route to %s still in the router's kernel %v after the link cut: %v", p, took, err)
	}
	t.Logf("link cut → route withdrawn from the router's kernel in %v (hold time 9 s)", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("withdrawal took %v: BFD did not act (hold time is 9 s)", took)
	}
}
