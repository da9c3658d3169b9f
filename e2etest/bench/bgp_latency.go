package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
)

// latTrial is one BGP Service's latencies from its create call.
type latTrial struct {
	ip, bgp, kernel time.Duration
}

func runBGPLatency(ctx context.Context, env *Env) ([]Figure, error) {
	l, frr, err := env.ReadyLab(ctx, ReadyOptions{})
	if err != nil {
		return nil, err
	}
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return nil, err
	}
	rw, err := watchRouter(ctx, l.Router().NS, frr)
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	w, err := StartIngressWatch(ctx, l.Admin.Kube, benchNamespace)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	n := env.Trials(20)
	env.Printf("%d trials (+1 warm-up), one IPv4 Service at a time (endpoints on 3 nodes), deleted after each", n)
	var trials []latTrial
	for i := range n + 1 {
		t, err := latencyTrial(ctx, l, w, rw.eventLog, fmt.Sprintf("bgp-lat-%d", i))
		if err != nil {
			return latencyFigures(trials), fmt.Errorf("trial %d: %w", i, err)
		}
		if i > 0 {
			trials = append(trials, t)
		}
	}
	return latencyFigures(trials), nil
}

// latencyTrial creates one Service of the demo's BGP pool with a ready
// endpoint on every node, measures until its IP is in its status, its
// prefix in FRR's BGP table (the first path, from FRR's log) and in the
// router's kernel (ip monitor), then deletes it and waits for the route
// to go.
func latencyTrial(ctx context.Context, l *lab.Lab, w *IngressWatch, log *eventLog, name string) (latTrial, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b := Bulk{Namespace: benchNamespace, Names: []string{name}, Workers: 1,
		Annotations: map[string]string{v1beta1.AnnotationAddressPool: demo.BGPPool}, Endpoints: NodeEndpoints(l, false)}
	t0, _, err := b.Create(ctx, l.Admin.Kube)
	if err != nil {
		return latTrial{}, err
	}
	atIP, err := w.Ingress(ctx, name)
	if err != nil {
		return latTrial{}, fmt.Errorf("wait for the IP of %s: %w (%v)", name, err, l.CheckPylon())
	}
	svc, err := l.Admin.Kube.CoreV1().Services(benchNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return latTrial{}, err
	}
	ips := kube.IngressIPs(svc)
	if len(ips) == 0 {
		return latTrial{}, fmt.Errorf("%s has no IP", name)
	}
	dst := netip.PrefixFrom(ips[0], ips[0].BitLen())
	atBGP, err := log.wait(ctx, bgpRcvd(dst), t0)
	if err != nil {
		return latTrial{}, fmt.Errorf("%s at FRR: %w (%v)", dst, err, l.CheckPylon())
	}
	atKernel, err := log.wait(ctx, kernelAdd(dst), t0)
	if err != nil {
		return latTrial{}, fmt.Errorf("%s in the router's kernel: %w", dst, err)
	}
	if err := l.Admin.DeleteService(ctx, types.NamespacedName{Namespace: benchNamespace, Name: name}); err != nil {
		return latTrial{}, err
	}
	if _, err := log.wait(ctx, kernelDel(dst), atKernel); err != nil {
		return latTrial{}, fmt.Errorf("%s withdrawn: %w", dst, err)
	}
	return latTrial{ip: atIP.Sub(t0), bgp: atBGP.Sub(t0), kernel: atKernel.Sub(t0)}, nil
}

func latencyFigures(trials []latTrial) []Figure {
	if len(trials) == 0 {
		return nil
	}
	var ip, bgp, kernel []time.Duration
	for _, t := range trials {
		ip, bgp, kernel = append(ip, t.ip), append(bgp, t.bgp), append(kernel, t.kernel)
	}
	i, b, k := Summarize(ip), Summarize(bgp), Summarize(kernel)
	return []Figure{
		{Name: "BGP Service created → prefix in FRR's BGP table (p50)", Value: Millis(b.P50), Unit: "ms",
			Spread: b.Spread(time.Millisecond), MetalLB: "26 ms", Target: "≤ 26 ms (issue: ≤ 500 ms)", Pass: Met(b.P50 <= 26*time.Millisecond),
			Note: fmt.Sprintf("create call → first path in bgpd's debug log; IP in the Service's status after %s ms (p50)", Format(Millis(i.P50)))},
		{Name: "BGP Service created → route in the router's kernel table (p50)", Value: Millis(k.P50), Unit: "ms",
			Spread: k.Spread(time.Millisecond), MetalLB: "90 ms", Target: "≤ 90 ms", Pass: Met(k.P50 <= 90*time.Millisecond),
			Note: "create call → `ip -ts monitor route` in the router; zebra's install time included"},
	}
}
