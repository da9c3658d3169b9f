package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// runBGPRolling restarts every speaker one after the other while a client
// outside probes a BGP Service every 10 ms, with graceful shutdown (FRR set
// to honour the community) and, as the baseline, without it.
func runBGPRolling(ctx context.Context, env *Env) ([]Figure, error) {
	l, frr, err := env.ReadyLab(ctx, ReadyOptions{})
	if err != nil {
		return nil, err
	}
	if err := frr.HonourGracefulShutdown(ctx, lab.RouterASN, true, "RANGE0", "RANGE1"); err != nil {
		return nil, err
	}
	ip, err := rollingService(ctx, l)
	if err != nil {
		return nil, err
	}
	var figs []Figure
	for _, mode := range []struct {
		name string
		args []string
	}{{"with graceful shutdown (2 s)", nil}, {"without graceful shutdown (baseline)", []string{"--bgp-graceful-shutdown=0"}}} {
		// The flag acts when a speaker stops: start them all with it first.
		if err := rollSpeakers(ctx, l, ip, mode.args); err != nil {
			return figs, err
		}
		p, err := l.NewProber("outside", ip)
		if err != nil {
			return figs, err
		}
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(pctx) }()
		t0 := time.Now()
		err = rollSpeakers(ctx, l, ip, mode.args)
		took := time.Since(t0)
		stop()
		<-done
		if err != nil {
			return figs, err
		}
		failed, total := 0, 0
		for _, s := range p.Samples() {
			total++
			if !s.OK() {
				failed++
			}
		}
		env.Printf("rolling restart of %d speakers %s: %d of %d probes failed, %s", len(l.NodeNames()), mode.name, failed, total, took.Round(time.Millisecond))
		f := Figure{Name: "rolling restart of every speaker, failed client probes (10 ms), " + mode.name, Value: float64(failed), Unit: "probes",
			Spread: fmt.Sprintf("of %d, restart took %s", total, took.Round(100*time.Millisecond)), Note: "FRR honours 65535:0 with LOCAL_PREF 0; graceful restart off"}
		if mode.args == nil {
			f.Target, f.Pass = "0", Met(failed == 0)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// rollingService creates one IPv4 Service of the demo's BGP pool with an
// endpoint on every node, serves its IP on the nodes and waits for the
// router's ECMP route via all of them.
func rollingService(ctx context.Context, l *lab.Lab) (netip.Addr, error) {
	const name = "rolling"
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return netip.Addr{}, err
	}
	b := Bulk{Namespace: benchNamespace, Names: []string{name}, Workers: 1,
		Annotations: map[string]string{v1beta1.AnnotationAddressPool: demo.BGPPool}, Endpoints: NodeEndpoints(l, false)}
	if _, _, err := b.Create(ctx, l.Admin.Kube); err != nil {
		return netip.Addr{}, err
	}
	var ip netip.Addr
	err := wait.For(ctx, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		svc, err := l.Admin.Kube.CoreV1().Services(benchNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if ips := kube.IngressIPs(svc); len(ips) > 0 {
			ip = ips[0]
		}
		return ip.IsValid(), nil
	})
	if err != nil {
		return ip, fmt.Errorf("address of Service %s: %w", name, err)
	}
	if err := l.ServeIP(ctx, ip); err != nil {
		return ip, err
	}
	return ip, waitRouteViaAll(ctx, l, ip)
}

// rollSpeakers stops each node's speaker (SIGTERM) and starts it again with
// args, waiting for the router's route via every node before the next.
func rollSpeakers(ctx context.Context, l *lab.Lab, ip netip.Addr, args []string) error {
	for _, node := range l.NodeNames() {
		if err := l.StopSpeaker(ctx, node, 10*time.Second); err != nil {
			return err
		}
		if _, err := l.StartSpeaker(ctx, node, args...); err != nil {
			return err
		}
		if err := waitRouteViaAll(ctx, l, ip); err != nil {
			return fmt.Errorf("after restarting %s's speaker: %w", node, err)
		}
	}
	return nil
}

// waitRouteViaAll waits until the router's kernel routes ip via every node.
func waitRouteViaAll(ctx context.Context, l *lab.Lab, ip netip.Addr) error {
	dst := netip.PrefixFrom(ip, ip.BitLen())
	return wait.For(ctx, 60*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		rs, err := l.KernelRoutes(ctx, "router")
		if err != nil {
			return false, err
		}
		r, ok := routers.KernelRouteTo(rs, dst)
		return ok && len(r.NextHops) == len(l.NodeNames()), nil
	})
}
