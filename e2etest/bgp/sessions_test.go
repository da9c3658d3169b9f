//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// peer renders a BGPPeer; spec is YAML flow syntax.
func peer(name, spec string) string {
	return fmt.Sprintf("---\napiVersion: pylonlb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: %s}\nspec: %s\n", name, spec)
}

// testPeerChangeIsolation: changing one BGPPeer (frr6's hold time) resets
// only its sessions; the other peer's sessions stay up, as their uptime
// at the router shows.
func testPeerChangeIsolation(t *testing.T, e *env) {
	all := e.l.NodeNames()
	before := e.waitEstablished(t, e.frr, e.baseSessions())
	e.apply(t, peer("frr6", `{myASN: 64501, peerASN: 64500, peerAddress: "fd00:77::254", connectTime: 1s, holdTime: 60s}`))
	v6 := e.nodeAddrs(true, all...)
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := frrNeighbors(ctx, e.frr)
		if err != nil {
			return false, err
		}
		for _, a := range v6 {
			if n := ns[a]; n.State != "Established" || n.HoldMsecs != 60000 {
				return false, fmt.Errorf("%s: %s, hold %d ms", a, n.State, n.HoldMsecs)
			}
		}
		return true, nil
	}, "frr6's sessions came back with the new 60 s hold time")
	after, err := frrNeighbors(ctx(t), e.frr)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range e.nodeAddrs(false, all...) {
		b, n := before[a], after[a]
		// FRR derives the epoch from a whole-second uptime: it may move by
		// one second between two readings of an untouched session. A reset
		// moves it by the seconds since the first reading, and the uptime
		// starts again from zero.
		if n.State != "Established" || absDiff(n.UpEpoch, b.UpEpoch) > 1 || n.UpMsec < b.UpMsec {
			t.Errorf("frr4 session from %s was touched: before up since %d (%d ms), now %s up since %d (%d ms)",
				a, b.UpEpoch, b.UpMsec, n.State, n.UpEpoch, n.UpMsec)
		}
	}
}

// testIBGP: iBGP sessions (peerASN and dynamicASN internal) to FRR carry
// localPref, and FRR installs the iBGP paths as ECMP.
func testIBGP(t *testing.T, e *env) {
	e.frrRanges(t, "internal", "")
	t.Cleanup(func() { e.frrRanges(t, "external", "") })
	e.apply(t, peer("frr4", `{myASN: 64500, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s}`)+
		peer("frr6", `{myASN: 64500, dynamicASN: internal, peerAddress: "fd00:77::254", connectTime: 1s}`)+
		adv("pref", "{ipAddressPools: [main], localPref: 250}"))
	e.waitSessions(t, e.frr, e.baseSessions(), withAS(lab.RouterASN))
	ips := e.service(t, svc{name: "ibgp", families: dualStack, ready: []string{"node3"}})
	for _, ip := range ips {
		dst := host(ip)
		e.waitKernel(t, "router", dst, e.l.NodeNames()...)
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.RouteDetail(ctx, dst.String())
			if err != nil {
				return false, err
			}
			// One path per node: each session carries its own family.
			return checkPaths(rs, len(e.l.NodeNames()), func(r routers.Route) error {
				if r.LocalPref != 250 {
					return fmt.Errorf("path from %s has localPref %d", r.Peer, r.LocalPref)
				}
				return nil
			})
		}, "every iBGP path of %s at FRR has localPref 250", dst)
	}
}

// testMD5: with a TCP MD5 password on FRR's IPv4 range, a wrong password
// (in the BGPPeer or its Secret) never establishes and the router counts
// MD5 failures; the right one (in the BGPPeer or its Secret) does.
func testMD5(t *testing.T, e *env) {
	const spec = `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, %s}`
	e.frrRanges(t, "external", "s3cret")
	t.Cleanup(func() { e.frrRanges(t, "external", "") })
	t.Cleanup(func() {
		_ = e.l.Admin.Kube.CoreV1().Secrets(lab.PylonNamespace).Delete(context.Background(), "frr-md5", metav1.DeleteOptions{})
	})
	v4 := e.nodeAddrs(false, e.l.NodeNames()...)

	e.apply(t, peer("frr4", fmt.Sprintf(spec, "password: wrong")))
	e.neverEstablished(t, v4, "password: wrong")
	e.apply(t, md5Secret("s3cret")+peer("frr4", fmt.Sprintf(spec, "passwordSecret: {name: frr-md5}")))
	e.waitEstablished(t, e.frr, v4)
	e.apply(t, md5Secret("nope"))
	e.neverEstablished(t, v4, "passwordSecret holding a wrong password")
	e.apply(t, peer("frr4", fmt.Sprintf(spec, "password: s3cret")))
	e.waitEstablished(t, e.frr, v4)
}

// md5Secret renders the password Secret.
func md5Secret(pw string) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Secret\nmetadata: {name: frr-md5}\nstringData: {password: %s}\n", pw)
}

// neverEstablished waits until none of the sessions from addrs is
// established any more at FRR on the router (see neverEstablishedAt).
func (e *env) neverEstablished(t *testing.T, addrs []netip.Addr, what string) {
	t.Helper()
	e.neverEstablishedAt(t, e.frr, addrs, what)
}

// neverEstablishedAt waits until none of the sessions from addrs is
// established at r any more (the change reached the speakers), then until
// the router's namespace has dropped at least two connection attempts per
// node for a wrong MD5 signature, failing if any of the sessions comes up
// meanwhile.
func (e *env) neverEstablishedAt(t *testing.T, r routers.Router, addrs []netip.Addr, what string) {
	t.Helper()
	established := func(ctx context.Context) (netip.Addr, error) {
		ss, err := r.Sessions(ctx)
		for _, a := range addrs {
			if s, ok := routers.SessionOf(ss, a); ok && s.Established() {
				return a, err
			}
		}
		return netip.Addr{}, err
	}
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		a, err := established(ctx)
		if a.IsValid() {
			return false, fmt.Errorf("%s still established", a)
		}
		return err == nil, err
	}, "the sessions from %v went down at %s for %s", addrs, r.Name(), what)
	start, err := e.md5Failures(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		a, err := established(ctx)
		if err != nil {
			return false, err
		}
		if a.IsValid() {
			t.Fatalf("session from %s established at %s with %s", a, r.Name(), what)
		}
		n, err := e.md5Failures(ctx)
		if n-start < 2*len(addrs) {
			return false, fmt.Errorf("%d MD5 failures so far", n-start)
		}
		return true, err
	}, "%s rejects the sessions with %s (MD5 failures)", r.Name(), what)
}

// testMultiHop: a second router two hops away (router2, AS 64502) with
// ebgpMultiHop, next to FRR on the router: each advertisement's peers
// decide which router learns which pool.
func testMultiHop(t *testing.T, e *env) {
	var nbrs []routers.Neighbor
	for _, a := range e.nodeAddrs(false, e.l.NodeNames()...) {
		nbrs = append(nbrs, routers.Neighbor{Addr: a, ASN: lab.NodeASN, Multihop: 3, Passive: true})
	}
	r2 := e.l.Topo.MustHost("router2")
	frr2, err := e.l.StartFRR(ctx(t), "router2", routers.BGPConfig{ASN: 64502, RouterID: r2.IPv4(), Neighbors: nbrs,
		HoldTime: 90 * time.Second, Keepalive: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := frr2.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	e.apply(t, peer("r2", fmt.Sprintf(`{myASN: 64501, peerASN: 64502, peerAddress: %s, ebgpMultiHop: true, connectTime: 1s}`, r2.IPv4()))+
		adv("to-r2", "{ipAddressPools: [extra], peers: [r2]}")+adv("to-frr", "{ipAddressPools: [main], peers: [frr4, frr6]}"))
	e.waitEstablished(t, frr2, e.nodeAddrs(false, e.l.NodeNames()...))
	far := e.service(t, svc{name: "far", pool: poolExtra, ready: []string{"node1"}})[0]
	near := e.service(t, svc{name: "near", ready: []string{"node1"}})[0]
	all := e.l.NodeNames()
	e.waitNextHops(t, frr2, host(far), all...)
	e.waitNextHops(t, e.frr, host(near), all...)
	for _, c := range []struct {
		r   *routers.FRR
		dst netip.Prefix
	}{{frr2, host(near)}, {e.frr, host(far)}} {
		rs, err := c.r.Routes(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if hops := routers.NextHops(rs, c.dst); len(hops) > 0 {
			t.Errorf("%s learnt %s via %v, but no advertisement sends it there", c.r.Name(), c.dst, hops)
		}
	}
}

// absDiff is |a-b|.
func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
