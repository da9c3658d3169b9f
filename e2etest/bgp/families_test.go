//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// testDualStackSessions: by default a session carries its own family's
// prefixes only, so FRR (peering over both families) gets one path per
// node for each prefix; dualStackAddressFamily on the IPv4 session makes
// it carry the IPv6 prefixes too, with the node's IPv6 address as next hop.
func testDualStackSessions(t *testing.T, e *env) {
	e.apply(t, adv("all", "{ipAddressPools: [main]}"))
	ips := e.service(t, svc{name: "families", families: dualStack, ready: []string{"node1"}})
	all := e.l.NodeNames()
	// paths waits until dst arrives from every node over the IPv4 sessions
	// iff over4 and over the IPv6 sessions iff over6, each with the node's
	// address of dst's family as next hop.
	paths := func(dst netip.Prefix, over4, over6 bool) {
		t.Helper()
		want := e.nodeAddrs(dst.Addr().Is6(), all...)
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.Routes(ctx)
			if err != nil {
				return false, err
			}
			for _, s := range []struct {
				v6, carries bool
			}{{false, over4}, {true, over6}} {
				got := nextHops(routesFrom(rs, dst, s.v6))
				if s.carries && !slices.Equal(got, want) || !s.carries && len(got) > 0 {
					return false, fmt.Errorf("over the IPv6=%v sessions via %v (want them: %v)", s.v6, got, s.carries)
				}
			}
			return true, nil
		}, "%s arrives over the IPv4 sessions: %v, over the IPv6 sessions: %v, from every node", dst, over4, over6)
	}
	for _, ip := range ips {
		paths(host(ip), ip.Is4(), ip.Is6())
	}
	e.apply(t, peer("frr4", `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, dualStackAddressFamily: true}`))
	for _, ip := range ips {
		paths(host(ip), true, ip.Is6())
	}
}

// nextHops returns the sorted next hops of rs.
func nextHops(rs []routers.Route) []netip.Addr {
	var out []netip.Addr
	for _, r := range rs {
		out = append(out, r.NextHop)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// testLocalASN: localASN is the ASN the session presents: FRR sees the
// IPv4 sessions from AS 65010 and paths whose AS path is 65010 alone.
func testLocalASN(t *testing.T, e *env) {
	const localASN = 65010
	e.apply(t, peer("frr4", fmt.Sprintf(`{myASN: 64501, localASN: %d, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s}`, localASN))+
		adv("all", "{ipAddressPools: [main]}"))
	all := e.l.NodeNames()
	e.waitSessions(t, e.frr, e.nodeAddrs(false, all...), withAS(localASN))
	ips := e.service(t, svc{name: "local-asn", ready: []string{"node1"}})
	dst := host(ips[0])
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := e.frr.Routes(ctx)
		if err != nil {
			return false, err
		}
		return checkPaths(routesFrom(rs, dst, false), len(all), func(r routers.Route) error {
			if r.ASPath != fmt.Sprint(localASN) {
				return fmt.Errorf("path from %s has AS path %q", r.Peer, r.ASPath)
			}
			return nil
		})
	}, "every path of %s at FRR has AS path %d", dst, localASN)
	e.waitKernel(t, "router", dst, all...)
}

// testHoldTimeZero: holdTime 0 takes effect when the router's hold time is
// 0 too (gobgp cannot propose 0, so Pylon proposes the largest hold time
// and the router's value wins): with the router at its 90 s the session
// holds 90 s; with the router at 0 it runs without hold timer and
// keepalives.
func testHoldTimeZero(t *testing.T, e *env) {
	v4 := e.nodeAddrs(false, e.l.NodeNames()...)
	hold := func(ms int64) func(frrNeighbor) error {
		return func(n frrNeighbor) error {
			if n.HoldMsecs != ms || n.KeepaliveMsecs != ms/3 {
				return fmt.Errorf("hold %d ms, keepalive %d ms", n.HoldMsecs, n.KeepaliveMsecs)
			}
			return nil
		}
	}
	e.apply(t, peer("frr4", `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, holdTime: 0s}`))
	e.waitSessions(t, e.frr, v4, hold(90000))
	t.Cleanup(func() {
		if _, err := e.frr.Vtysh(ctx(t), "conf t", "router bgp 64500", "no neighbor RANGE0 timers"); err != nil {
			t.Error(err)
		}
	})
	if _, err := e.frr.Vtysh(ctx(t), "conf t", "router bgp 64500", "neighbor RANGE0 timers 0 0"); err != nil {
		t.Fatal(err)
	}
	// A new session negotiates again: change the peer (connectTime).
	e.apply(t, peer("frr4", `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 2s, holdTime: 0s}`))
	e.waitSessions(t, e.frr, v4, hold(0))
}
