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

// birdConfig is BIRD 2 on the router: dynamic neighbours from the LAN in
// AS asn (0: any external AS), ECMP into the kernel.
func birdConfig(l *lab.Lab, asn uint32) routers.BGPConfig {
	return routers.BGPConfig{
		ASN:      lab.RouterASN,
		RouterID: l.Router().IPv4(),
		Listen:   []routers.ListenRange{{Prefix: topo.LANv4, ASN: asn}, {Prefix: topo.LANv6, ASN: asn}},
		HoldTime: 90 * time.Second, Keepalive: 30 * time.Second,
	}
}

// testBIRD replaces FRR on the router with BIRD 2 and runs eBGP and iBGP
// against it: sessions over IPv4 and IPv6, both families' prefixes as
// ECMP kernel routes, communities and localPref, traffic from outside.
func testBIRD(t *testing.T, e *env) {
	if err := e.frr.Stop(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e.frr = nil
	bird, err := e.l.StartBIRD(ctx(t), "router", birdConfig(e.l, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.bird = bird
	t.Run("EBGP", func(t *testing.T) {
		t.Cleanup(func() { e.reset(t) })
		e.waitBIRDSessions(t, bird, lab.NodeASN)
		e.apply(t, communitiesConfig)
		ips := e.service(t, svc{name: "bird", families: dualStack, ready: []string{"node1"}})
		all := e.l.NodeNames()
		for _, ip := range ips {
			rs := e.waitNextHops(t, bird, host(ip), all...)
			for _, r := range rs {
				if r.Prefix == host(ip) && (!slices.Contains(r.Communities, "64500:666") || !slices.Contains(r.LargeCommunities, "64500:1:2")) {
					t.Errorf("BIRD's path of %s from %s has communities %v, large %v", ip, r.From, r.Communities, r.LargeCommunities)
				}
			}
			e.waitKernel(t, "router", host(ip), all...)
			e.serve(t, ip)
			e.waitHTTP(t, ip)
		}
	})
	t.Run("IBGP", func(t *testing.T) {
		t.Cleanup(func() { e.reset(t) })
		if err := bird.Reconfigure(ctx(t), birdConfig(e.l, lab.RouterASN), ""); err != nil {
			t.Fatal(err)
		}
		e.apply(t, peer("frr4", `{myASN: 64500, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s}`)+
			peer("frr6", `{myASN: 64500, dynamicASN: internal, peerAddress: "fd00:77::254", connectTime: 1s}`)+
			adv("pref", "{ipAddressPools: [main], localPref: 250}"))
		e.waitBIRDSessions(t, bird, lab.RouterASN)
		ips := e.service(t, svc{name: "bird-ibgp", families: dualStack, ready: []string{"node2"}})
		for _, ip := range ips {
			for _, r := range e.waitNextHops(t, bird, host(ip), e.l.NodeNames()...) {
				if r.Prefix == host(ip) && r.LocalPref != 250 {
					t.Errorf("BIRD's path of %s from %s has localPref %d", ip, r.From, r.LocalPref)
				}
			}
		}
	})
}

// waitBIRDSessions waits until BIRD has an established session from every
// node over both families, with AS asn.
func (e *env) waitBIRDSessions(t testing.TB, b *routers.BIRD, asn uint32) {
	t.Helper()
	want := e.baseSessions()
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ss, err := b.Sessions(ctx)
		if err != nil {
			return false, err
		}
		up := map[netip.Addr]bool{}
		for _, s := range ss {
			up[s.Peer] = up[s.Peer] || s.State == "Established" && s.RemoteAS == asn
		}
		for _, a := range want {
			if !up[a] {
				return false, fmt.Errorf("no established session from %s in AS %d: %+v", a, asn, ss)
			}
		}
		return true, nil
	}, "BIRD has sessions from every node in AS %d", asn)
}
