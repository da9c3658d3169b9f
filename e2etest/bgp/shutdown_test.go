//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// testGracefulShutdown: a stopping speaker re-announces its paths with the
// GRACEFUL_SHUTDOWN community before closing its sessions, so FRR (set to
// honour it) moves traffic to the other nodes while the session is still
// up; a rolling restart of every speaker, one after the other, loses no
// client probe (every 10 ms from outside).
func testGracefulShutdown(t *testing.T, e *env) {
	if err := e.frr.HonourGracefulShutdown(ctx(t), lab.RouterASN, true, "RANGE0", "RANGE1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.frr.HonourGracefulShutdown(ctx(t), lab.RouterASN, false, "RANGE0", "RANGE1"); err != nil {
			t.Error(err)
		}
	})
	e.apply(t, adv("all", "{ipAddressPools: [main]}"))
	ip := e.service(t, svc{name: "gshut", ready: []string{"node1"}})[0]
	dst := host(ip)
	all := e.l.NodeNames()
	e.waitKernel(t, "router", dst, all...)
	e.serve(t, ip)
	e.waitHTTP(t, ip)
	p, err := e.l.NewProber("outside", ip)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProbes := context.WithCancel(context.Background())
	probed := make(chan struct{})
	go func() { defer close(probed); _ = p.Run(pctx) }()
	for i, node := range all {
		addr := e.nodeAddrs(false, node)[0]
		stopped := make(chan error, 1)
		go func() { stopped <- e.l.StopSpeaker(context.Background(), node, 10*time.Second) }()
		// While the stopping speaker waits, FRR holds its path marked and
		// the kernel routes around it, its session still Established.
		e.eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.RouteDetail(ctx, dst.String())
			if err != nil {
				return false, err
			}
			i := slices.IndexFunc(rs, func(r routers.Route) bool { return r.Peer == addr })
			if i < 0 || !slices.ContainsFunc(rs[i].Communities, routers.IsGracefulShutdown) {
				return false, fmt.Errorf("%s's path not marked: %+v", node, rs)
			}
			ns, err := frrNeighbors(ctx, e.frr)
			if err != nil || ns[addr].State != "Established" {
				return false, err
			}
			kr, err := e.l.KernelRoutes(ctx, "router")
			if err != nil {
				return false, err
			}
			r, ok := routers.KernelRouteTo(kr, dst)
			return ok && len(r.NextHops) == len(all)-1 && !slices.Contains(r.NextHops, addr), nil
		}, "%s's stopping speaker: its path marked graceful-shutdown, the kernel routing around it, its session up", node)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.StartSpeaker(ctx(t), node); err != nil {
			t.Fatal(err)
		}
		e.waitKernel(t, "router", dst, all...)
		t.Logf("speaker %d of %d restarted", i+1, len(all))
	}
	stopProbes()
	<-probed
	var failed int
	samples := p.Samples()
	for _, s := range samples {
		if !s.OK() {
			failed++
		}
	}
	t.Logf("rolling restart of %d speakers with graceful shutdown: %d of %d probes failed", len(all), failed, len(samples))
	if failed > 0 {
		t.Errorf("%d of %d client probes failed during the rolling restart", failed, len(samples))
	}
}
