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
	changes := e.watchNextHops(pctx, dst)
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
	at := <-changes
	var failed, rehashed int
	samples := p.Samples()
	for _, s := range samples {
		switch {
		case s.OK():
		case inFlightAt(s.Start, at):
			rehashed++
		default:
			failed++
			t.Logf("probe at %s failed: %s", s.Start.Format("15:04:05.000"), s.Err)
		}
	}
	t.Logf("rolling restart of %d speakers with graceful shutdown: %d of %d probes failed, %d more were in flight when the router's ECMP set changed (%d changes)",
		len(all), failed, len(samples), rehashed, len(at))
	if failed > 0 {
		t.Errorf("%d of %d client probes failed during the rolling restart", failed, len(samples))
	}
}

// watchNextHops polls the router's kernel route to dst every 10 ms until
// ctx ends, then sends when its next hops changed.
func (e *env) watchNextHops(ctx context.Context, dst netip.Prefix) <-chan []time.Time {
	out := make(chan []time.Time, 1)
	go func() {
		var at []time.Time
		var last string
		for ctx.Err() == nil {
			if rs, err := e.l.KernelRoutes(ctx, "router"); err == nil {
				r, _ := routers.KernelRouteTo(rs, dst)
				cur := fmt.Sprint(r.NextHops)
				if last != "" && cur != last {
					at = append(at, time.Now())
				}
				last = cur
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		out <- at
	}()
	return out
}

// inFlightAt reports whether a probe started at start could have been in
// flight (500 ms timeout) when the router's ECMP set changed at one of
// changes (seen up to one poll late). Linux spreads flows over the next
// hops by hash-threshold: a change of the set moves some flows in flight
// to another node, which resets them. Graceful shutdown cannot prevent
// that; it makes the change happen while every node still forwards.
func inFlightAt(start time.Time, changes []time.Time) bool {
	return slices.ContainsFunc(changes, func(c time.Time) bool {
		return !start.Before(c.Add(-600*time.Millisecond)) && !start.After(c.Add(20*time.Millisecond))
	})
}
