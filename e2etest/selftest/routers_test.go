//go:build e2e

package selftest

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// frrSpeaker announces 198.51.100.7/32 from node1 (AS 64501) to the router.
const frrSpeaker = `router bgp 64501
 bgp router-id 192.168.77.11
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor 192.168.77.254 remote-as 64500
 neighbor 192.168.77.254 timers connect 1
 address-family ipv4 unicast
  network 198.51.100.7/32
  neighbor 192.168.77.254 activate
 exit-address-family
exit
`

// birdSpeaker announces 198.51.100.8/32 and 2001:db8:100::8/128 from node2
// to router2, two hops away, with communities.
const birdSpeaker = `log stderr all;
router id 192.168.77.12;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.8/32 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::8/128 blackhole; }
filter tagged { bgp_community.add((64501,100)); bgp_large_community.add((64501,1,2)); accept; }
protocol bgp r4 { local as 64501; neighbor 192.168.79.2 as 64502; multihop 3; connect retry time 1; ipv4 { import none; export filter tagged; }; }
protocol bgp r6 { local as 64501; neighbor fd00:79::2 as 64502; multihop 3; connect retry time 1; ipv6 { import none; export filter tagged; }; }
`

// testRouters: BIRD on the router learns node1's prefix from an FRR test
// speaker (dynamic neighbours) and the outside host reaches node1's HTTP
// server through it; FRR on router2 learns node2's prefixes from a BIRD
// test speaker over multi-hop eBGP, with communities, into its kernel.
func testRouters(t *testing.T, l *lab.Lab) {
	ctx := context.Background()
	t0 := time.Now()
	bird, err := l.StartBIRD(ctx, "router", l.RouterBGPConfig("router", lab.RouterASN, lab.NodeASN))
	if err != nil {
		t.Fatal(err)
	}
	defer bird.Stop(ctx)
	frr2, err := l.StartFRR(ctx, "router2", routers.BGPConfig{ASN: 64502, RouterID: l.Topo.MustHost("router2").IPv4(),
		Neighbors: []routers.Neighbor{{Addr: l.Node("node2").IPv4(), ASN: lab.NodeASN, Multihop: 3},
			{Addr: l.Node("node2").IPv6(), ASN: lab.NodeASN, Multihop: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	defer frr2.Stop(ctx)
	t.Logf("BIRD and FRR up in %v", time.Since(t0).Round(time.Millisecond))
	if _, err := l.StartFRRRaw(ctx, "node1", frrSpeaker); err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartBIRDRaw(ctx, "node2", birdSpeaker); err != nil {
		t.Fatal(err)
	}

	p7, p8 := netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("198.51.100.8/32")
	p8v6 := netip.MustParsePrefix("2001:db8:100::8/128")
	waitRoute(t, l, "router", p7, "bird")
	waitRoute(t, l, "router2", p8, "bgp")
	waitRoute(t, l, "router2", p8v6, "bgp")
	t.Logf("routes in both kernels %v after the routers started", time.Since(t0).Round(time.Millisecond))

	if ss, err := bird.Sessions(ctx); err != nil || routers.CountEstablished(ss) != 1 {
		t.Errorf("BIRD sessions %+v, %v; want node1 established", ss, err)
	}
	if ss, err := frr2.Sessions(ctx); err != nil || routers.CountEstablished(ss) != 2 {
		t.Errorf("FRR sessions %+v, %v; want 2 established", ss, err)
	}
	d, err := frr2.RouteDetail(ctx, p8.String())
	if err != nil || len(d) != 1 || d[0].NextHop != l.Node("node2").IPv4() ||
		!slices.Equal(d[0].Communities, []string{"64501:100"}) || !slices.Equal(d[0].LargeCommunities, []string{"64501:1:2"}) {
		t.Errorf("FRR route %s = %+v, %v", p8, d, err)
	}

	// Traffic from outside follows the route the router learnt.
	if err := l.ServeIP(ctx, p7.Addr(), "node1"); err != nil {
		t.Fatal(err)
	}
	defer l.UnserveIP(ctx, p7.Addr(), "node1")
	if got, err := l.HTTP(ctx, "outside", p7.Addr()); err != nil || got != "node1" {
		t.Errorf("outside → %s: answered by %q, %v; want node1", p7.Addr(), got, err)
	}
}

func waitRoute(t *testing.T, l *lab.Lab, host string, dst netip.Prefix, proto string) {
	t.Helper()
	labtest.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := l.KernelRoutes(ctx, host)
		r, ok := routers.KernelRouteTo(rs, dst)
		return ok && r.Proto == proto, err
	}, "%s route to %s in %s's kernel", proto, dst, host)
}

// testLinkAndPartition: a cut link isolates a node, a partition separates
// node groups while the API stays reachable, and both heal.
func testLinkAndPartition(t *testing.T, l *lab.Lab) {
	ctx := context.Background()
	n1, n2 := l.Node("node1"), l.Node("node2")
	if err := l.CutLink(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, l.Client(), n1.IPv4()); err == nil {
		t.Error("client reaches node1 with its link cut")
	}
	if err := l.RestoreLink(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		return ping(ctx, l.Client(), n1.IPv4()) == nil, nil
	}, "client reaches node1 after its link is restored")

	if err := l.Partition(ctx, []string{"node1"}, []string{"node2", "node3"}); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, n2, n1.IPv6()); err == nil {
		t.Error("node2 reaches node1 across the partition")
	}
	if err := ping(ctx, n1, l.Topo.MustHost("ctl").IPv4()); err != nil {
		t.Errorf("node1 loses the API server in a partition: %v", err)
	}
	if err := l.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, n2, n1.IPv6()); err != nil {
		t.Errorf("node2 → node1 after heal: %v", err)
	}
}
