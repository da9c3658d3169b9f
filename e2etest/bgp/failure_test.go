//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// bfdConfig is a fast BFD profile on frr4 and an advertisement over frr4
// only (frr6 has no BFD: its paths would wait for the hold time).
const bfdConfig = `---
apiVersion: pylonlb.io/v1beta1
kind: BFDProfile
metadata: {name: fast}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr4}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, bfdProfile: fast}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: over4}
spec: {ipAddressPools: [main], peers: [frr4]}
`

// testBFD: with a BFD profile on the session, cutting a node's link
// withdraws its route at FRR long before the 90 s hold time could; the
// time is logged here and measured by the benchmark.
func testBFD(t *testing.T, e *env) {
	e.apply(t, bfdConfig)
	v4 := e.nodeAddrs(false, e.l.NodeNames()...)
	e.waitEstablished(t, e.frr, v4)
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		return bfdUp(ctx, e.frr, v4)
	}, "FRR's BFD sessions with every node are up")
	ip := e.service(t, svc{name: "bfd", ready: e.l.NodeNames()})[0]
	e.waitKernel(t, "router", host(ip), "node1", "node2", "node3")

	if err := e.l.CutLink(ctx(t), "node1"); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	t.Cleanup(func() {
		if err := e.l.RestoreLink(context.Background(), "node1"); err != nil {
			t.Error(err)
		}
	})
	e.waitNextHops(t, e.frr, host(ip), "node2", "node3")
	t.Logf("link cut → node1's path gone from FRR's BGP table: %v (hold time 90 s)", time.Since(cut))
	e.waitKernel(t, "router", host(ip), "node2", "node3")

	if err := e.l.RestoreLink(ctx(t), "node1"); err != nil {
		t.Fatal(err)
	}
	e.waitKernel(t, "router", host(ip), "node1", "node2", "node3")
}

// bfdUp reports whether FRR's BFD sessions with every address are up.
func bfdUp(ctx context.Context, f *routers.FRR, addrs []netip.Addr) (bool, error) {
	peers, err := f.BFDPeers(ctx)
	if err != nil {
		return false, err
	}
	up := map[netip.Addr]bool{}
	for _, p := range peers {
		up[p.Peer] = up[p.Peer] || p.Status == "up"
	}
	for _, a := range addrs {
		if !up[a] {
			return false, fmt.Errorf("BFD with %s not up (%+v)", a, peers)
		}
	}
	return true, nil
}

// testGracefulRestart: with enableGracefulRestart, restarting the only
// speaker announcing a Local Service keeps its route in the router's
// kernel the whole time (stale, then fresh again after the new speaker's
// End-of-RIB).
func testGracefulRestart(t *testing.T, e *env) {
	e.apply(t, peer("frr4", `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, enableGracefulRestart: true}`)+
		adv("over4", "{ipAddressPools: [main], peers: [frr4]}"))
	v4 := e.nodeAddrs(false, e.l.NodeNames()...)
	e.waitSessions(t, e.frr, v4, func(n frrNeighbor) error {
		if gr := n.Capabilities["gracefulRestart"]; gr != "advertisedAndReceived" {
			return fmt.Errorf("graceful restart capability %v", gr)
		}
		return nil
	})
	ip := e.service(t, svc{name: "gr", local: true, ready: []string{"node1"}})[0]
	dst := host(ip)
	e.waitKernel(t, "router", dst, "node1")

	var polls, missing atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // watch the router's kernel every 10 ms during the restart
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			rs, err := e.l.KernelRoutes(context.Background(), "router")
			if _, ok := routers.KernelRouteTo(rs, dst); err == nil && !ok {
				missing.Add(1)
			}
			polls.Add(1)
		}
	}()
	before := e.waitEstablished(t, e.frr, v4)[v4[0]]
	if err := e.l.StopSpeaker(ctx(t), "node1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		stale, _, err := frrStale(ctx, e.frr, dst)
		return stale, err
	}, "FRR keeps node1's path of %s as stale", dst)
	if _, err := e.l.StartSpeaker(ctx(t), "node1"); err != nil {
		t.Fatal(err)
	}
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := frrNeighbors(ctx, e.frr)
		if err != nil || ns[v4[0]].State != "Established" || ns[v4[0]].UpEpoch == before.UpEpoch {
			return false, err
		}
		stale, present, err := frrStale(ctx, e.frr, dst)
		return present && !stale, err
	}, "node1's new speaker re-established its session and refreshed %s", dst)
	close(stop)
	<-done
	if n := missing.Load(); n > 0 {
		t.Errorf("%s was missing from the router's kernel in %d of %d polls during the restart", dst, n, polls.Load())
	}
	t.Logf("%d kernel polls during the restart, none without the route", polls.Load())
}
