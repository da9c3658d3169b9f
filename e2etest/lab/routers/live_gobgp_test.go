package routers_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// TestGoBGPRouterLearnsFromBIRD: gobgpd on the router, with dynamic
// neighbour ranges of both families in any AS, learns a BIRD speaker's
// prefixes with their communities and next hops into its RIB, and stops
// cleanly.
func TestGoBGPRouterLearnsFromBIRD(t *testing.T) {
	prereq.Require(t, routers.GoBGPDPath, routers.GoBGPPath)
	tp, dir := network(t, "g")
	ctx := context.Background()
	router, node := tp.MustHost("router"), tp.MustHost("node1")
	g, err := routers.StartGoBGP(ctx, routers.GoBGPOptions{Name: "router", NS: router.NS, Dir: filepath.Join(dir, "gobgp"),
		Config: routers.BGPConfig{ASN: 64500, RouterID: router.IPv4(),
			Listen: []routers.ListenRange{{Prefix: topo.LANv4}, {Prefix: topo.LANv6}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop(ctx)
	bird, err := routers.StartBIRD(ctx, routers.BIRDOptions{Name: "node1", NS: node.NS, Dir: filepath.Join(dir, "bird"), Raw: birdSpeaker})
	if err != nil {
		t.Fatal(err)
	}
	defer bird.Stop(ctx)

	v4, v6 := netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:100::7/128")
	var rs []routers.Route
	err = wait.For(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		rs, err = g.Routes(ctx)
		return len(routers.NextHops(rs, v4)) == 1 && len(routers.NextHops(rs, v6)) == 1, err
	})
	if err != nil {
		raw4, _ := g.Gobgp(ctx, "global", "rib", "-a", "ipv4")
		raw6, _ := g.Gobgp(ctx, "global", "rib", "-a", "ipv6")
		t.Fatalf("gobgpd lacks %s and %s: %v (routes %+v; raw %s %s)", v4, v6, err, rs, raw4, raw6)
	}
	for _, r := range rs {
		want := map[netip.Prefix]netip.Addr{v4: node.IPv4(), v6: node.IPv6()}[r.Prefix]
		if r.NextHop != want || !r.Best || r.ASPath != "64501" || !slices.Equal(r.Communities, []string{"64501:100"}) ||
			!slices.Equal(r.LargeCommunities, []string{"64501:1:2"}) || r.Peer != map[bool]netip.Addr{false: node.IPv4(), true: node.IPv6()}[r.Prefix.Addr().Is6()] {
			t.Errorf("gobgpd path %+v, want next hop %s, AS path 64501, communities 64501:100 and 64501:1:2", r, want)
		}
	}
	ss, err := g.Sessions(ctx)
	if err != nil || routers.CountEstablished(ss) != 2 {
		t.Errorf("gobgpd sessions = %+v, %v; want 2 established", ss, err)
	}
	for _, s := range ss {
		if s.RemoteAS != 64501 {
			t.Errorf("session %+v: remote AS, want 64501", s)
		}
	}
	if err := g.Stop(ctx); err != nil {
		t.Errorf("gobgpd stop: %v", err)
	}
	if !g.Process().Exited() || g.Process().ExitError() != nil {
		t.Errorf("gobgpd did not exit cleanly on SIGTERM: %v", g.Process().ExitError())
	}
}
