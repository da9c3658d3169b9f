//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// goBGPConfig is gobgpd on the router: a peer group per LAN range with a
// dynamic-neighbor prefix (any AS: no peer-as), each carrying its own
// family, and the default 90 s hold time.
func goBGPConfig(l *lab.Lab) routers.BGPConfig {
	return routers.BGPConfig{
		ASN:      lab.RouterASN,
		RouterID: l.Router().IPv4(),
		Listen:   []routers.ListenRange{{Prefix: topo.LANv4}, {Prefix: topo.LANv6}},
		HoldTime: 90 * time.Second, Keepalive: 30 * time.Second,
	}
}

// testGoBGP replaces the router's BGP daemon (FRR, or BIRD after testBIRD)
// with GoBGP's gobgpd and checks what it receives in its RIB: sessions
// from every node over IPv4 and IPv6, both families' prefixes with every
// node as next hop, standard and large communities, withdrawal, and TCP
// MD5.
//
// Traffic from outside is not checked: gobgpd puts routes in a kernel
// table only through zebra, and gobgpd 3.10's zebra client crashes against
// FRR 8.4's zebra (the lab's), so the router's kernel never learns the
// Service routes; installing them by hand would test the test, not Pylon.
func testGoBGP(t *testing.T, e *env) {
	e.stopRouter(t)
	g, err := e.l.StartGoBGP(ctx(t), "router", goBGPConfig(e.l))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("EBGP", func(t *testing.T) {
		t.Cleanup(func() { e.reset(t) })
		e.waitGoBGPSessions(t, g, e.baseSessions())
		e.apply(t, communitiesConfig)
		ips := e.service(t, svc{name: "gobgp", families: dualStack, ready: []string{"node1"}})
		all := e.l.NodeNames()
		for _, ip := range ips {
			e.waitNextHops(t, g, host(ip), all...)
			e.waitGoBGPCommunities(t, g, host(ip), len(all))
		}
		e.setReady(t, "gobgp")
		for _, ip := range ips {
			e.waitNextHops(t, g, host(ip))
		}
	})
	t.Run("MD5", func(t *testing.T) {
		t.Cleanup(func() { e.reset(t) })
		if err := g.Stop(ctx(t)); err != nil {
			t.Fatal(err)
		}
		g = e.startGoBGPMD5(t, "s3cret")
		v4 := e.nodeAddrs(false, e.l.NodeNames()...)
		const spec = `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, %s}`
		e.neverEstablishedAt(t, g, v4, "no password")
		e.apply(t, peer("frr4", fmt.Sprintf(spec, "password: wrong")))
		e.neverEstablishedAt(t, g, v4, "password: wrong")
		e.apply(t, peer("frr4", fmt.Sprintf(spec, "password: s3cret"))+adv("main", "{ipAddressPools: [main]}"))
		e.waitGoBGPSessions(t, g, v4)
		ip := e.service(t, svc{name: "gobgp-md5", ready: []string{"node2"}})[0]
		e.waitNextHops(t, g, host(ip), e.l.NodeNames()...)
	})
}

// stopRouter stops whichever daemon runs on the router (FRR, or BIRD
// after testBIRD): the next one needs its BGP port.
func (e *env) stopRouter(t *testing.T) {
	t.Helper()
	var err error
	switch {
	case e.bird != nil:
		err = e.bird.Stop(ctx(t))
	case e.frr != nil:
		err = e.frr.Stop(ctx(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	e.frr, e.bird = nil, nil
}

// startGoBGPMD5 starts gobgpd on the router with one static, passive
// neighbour per node IPv4 address, with a TCP MD5 password, and the IPv6
// range as before. gobgpd 3.10 sets no MD5 key for a dynamic-neighbor
// prefix, so an authenticated range cannot be expressed.
func (e *env) startGoBGPMD5(t *testing.T, password string) *routers.GoBGP {
	t.Helper()
	cfg := goBGPConfig(e.l)
	cfg.Listen = cfg.Listen[1:]
	for _, a := range e.nodeAddrs(false, e.l.NodeNames()...) {
		cfg.Neighbors = append(cfg.Neighbors, routers.Neighbor{Addr: a, ASN: lab.NodeASN, Password: password, Passive: true})
	}
	g, err := e.l.StartGoBGP(ctx(t), "router", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// waitGoBGPSessions waits until gobgpd has an established eBGP session
// (remote AS 64501) from each of addrs.
func (e *env) waitGoBGPSessions(t testing.TB, g *routers.GoBGP, addrs []netip.Addr) {
	t.Helper()
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ss, err := g.Sessions(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range addrs {
			if s, ok := routers.SessionOf(ss, a); !ok || !s.Established() || s.RemoteAS != lab.NodeASN {
				return false, fmt.Errorf("session from %s: %+v (found: %v)", a, s, ok)
			}
		}
		return true, nil
	}, "gobgpd has established sessions from %v in AS %d", addrs, lab.NodeASN)
}

// waitGoBGPCommunities waits until gobgpd has n paths of dst, one per
// node, each with communitiesConfig's standard and large communities
// merged across its two advertisements.
func (e *env) waitGoBGPCommunities(t testing.TB, g *routers.GoBGP, dst netip.Prefix, n int) {
	t.Helper()
	wantStd := []string{"64500:100", "64500:200", "64500:666"}
	wantLarge := []string{"64500:1:2", "64500:7:8"}
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := g.Routes(ctx)
		if err != nil {
			return false, err
		}
		rs = slices.DeleteFunc(rs, func(r routers.Route) bool { return r.Prefix != dst })
		return checkPaths(rs, n, func(r routers.Route) error {
			if !slices.Equal(sorted(r.Communities), wantStd) || !slices.Equal(sorted(r.LargeCommunities), wantLarge) {
				return fmt.Errorf("path from %s has communities %v, large %v", r.Peer, r.Communities, r.LargeCommunities)
			}
			return nil
		})
	}, "every path of %s at gobgpd carries communities %v and large communities %v", dst, wantStd, wantLarge)
}
