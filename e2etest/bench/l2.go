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
	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
)

// l2Scenarios lists the L2-mode benchmarks (failover, handoff, ARP/HTTP
// latency). Owned by the L2 suite authors (e2etest/l2).
func l2Scenarios() []Scenario {
	return []Scenario{
		{
			Name:        "l2-failover",
			Description: "L2 hard failover: the announcing speaker SIGKILLed and its link cut at once; outage seen by a client probing HTTP every 10 ms",
			Run:         runL2Failover,
		},
		{
			Name:        "l2-crash",
			Description: "L2 speaker crash (SIGKILL, link up, node still serving): time until the client's requests reach the next owner",
			Run:         runL2Crash,
		},
		{
			Name:        "l2-handover",
			Description: "L2 graceful hand-over (SIGTERM): failed probes, probes still reaching the old node after its speaker exited, time until the next owner answers",
			Run:         runL2Handover,
		},
		{
			Name:        "l2-create",
			Description: "L2 Service created → first ARP answer and first HTTP answer at the client (from the create call)",
			Run:         runL2Create,
		},
		{
			Name:        "l2-placement",
			Description: "L2 placement Hash vs Balanced with 3, 30 and 300 Services on 3 nodes: spread (max/mean) and other groups moved when a Service is added or removed and when a node is lost",
			Run:         runL2Placement,
		},
		{
			Name:        "l2-soak",
			Description: "L2 false failovers: 30 Services on 3 nodes for 10 minutes (PYLON_BENCH_SOAK) with every core busy and 2% input loss on every node and the client; address moves while every node is alive",
			Run:         runL2Soak,
		},
		{
			Name:        "l2-rss",
			Description: "speaker RSS with 1,000 announced L2 Services (and the time until all are announced)",
			Run:         runL2RSS,
		},
	}
}

// Pools of the L2 benchmarks. l2OnePool holds a single address, so a
// scenario knows a Service's address before creating it.
const (
	l2Pool    = "bench-l2"
	l2OnePool = "bench-l2-one"
)

// l2OneIP is the only address of l2OnePool.
var l2OneIP = netip.MustParseAddr("192.168.77.190")

// l2Config is the L2 benchmarks' configuration: L2 pools only, so no
// router is needed and no BGP session costs CPU.
const l2Config = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-l2}
spec:
  addresses: [192.168.77.128/27, "fd00:77::100/121"]
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-l2-one}
spec:
  addresses: [192.168.77.190/32]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: bench-l2}
spec:
  ipAddressPools: [bench-l2, bench-l2-one]
`

// l2Settle bounds the waits for a lab to settle between trials.
const l2Settle = 30 * time.Second

// l2Lab is a lab running Pylon with the L2 configuration (extra YAML
// appended), and the bench namespace.
type l2Lab struct {
	l *lab.Lab
}

// startL2Lab brings the lab up with Pylon ready and its speakers meeting.
func startL2Lab(ctx context.Context, env *Env, extra string) (*l2Lab, error) {
	l, _, err := env.ReadyLab(ctx, ReadyOptions{Demo: demo.Options{NoRouter: true, Config: l2Config + extra}})
	if err != nil {
		return nil, err
	}
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return nil, err
	}
	if err := l2.WaitConverged(ctx, l, l.NodeNames(), l2Settle); err != nil {
		return nil, err
	}
	return &l2Lab{l: l}, nil
}

// service creates a Service of pool with a ready endpoint on every node,
// waits for its address and makes every node serve it.
func (b *l2Lab) service(ctx context.Context, name, pool string) (types.NamespacedName, netip.Addr, error) {
	nn := types.NamespacedName{Namespace: benchNamespace, Name: name}
	svc := kube.NewLoadBalancer(nn.Namespace, nn.Name)
	svc.Annotations = map[string]string{v1beta1.AnnotationAddressPool: pool}
	if _, err := b.l.Admin.Kube.CoreV1().Services(nn.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nn, netip.Addr{}, fmt.Errorf("create service %s: %w", nn, err)
	}
	if err := b.l.Admin.SetEndpoints(ctx, nn, NodeEndpoints(b.l, false)); err != nil {
		return nn, netip.Addr{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, l2Settle)
	defer cancel()
	ips, err := b.l.Admin.WaitIngress(wctx, nn, 1)
	if err != nil {
		return nn, netip.Addr{}, fmt.Errorf("wait for the address of %s: %w (%v)", nn, err, b.l.CheckPylon())
	}
	return nn, ips[0], b.l.ServeIP(ctx, ips[0])
}

// restore undoes a trial's damage to node: its link back up, its speaker
// restarted (after the old one exited) and ip served again.
func (b *l2Lab) restore(ctx context.Context, node string, ip netip.Addr) error {
	if err := b.l.RestoreLink(ctx, node); err != nil {
		return err
	}
	if p := b.l.Speaker(node); p != nil {
		wctx, cancel := context.WithTimeout(ctx, l2Settle)
		defer cancel()
		if err := p.Wait(wctx); err != nil {
			return fmt.Errorf("wait for the speaker of %s to exit: %w", node, err)
		}
	}
	if _, err := b.l.StartSpeaker(ctx, node); err != nil {
		return err
	}
	return b.l.ServeIP(ctx, ip, node)
}

// settle waits until every speaker sees every other and the client
// reaches ip's predicted owner (its neighbour entry and an HTTP answer),
// and returns that owner.
func (b *l2Lab) settle(ctx context.Context, ip netip.Addr) (string, error) {
	nodes := b.l.NodeNames()
	if err := l2.WaitConverged(ctx, b.l, nodes, l2Settle); err != nil {
		return "", err
	}
	owner, _ := l2.Owner([]netip.Addr{ip}, nodes)
	err := demo.WaitPylon(ctx, b.l, l2Settle, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		who, err := b.l.HTTP(ctx, "client", ip)
		if err != nil || who != owner {
			return false, err
		}
		who, err = b.l.Announcer(ctx, ip)
		return who == owner, err
	})
	if err != nil {
		return "", fmt.Errorf("client reaching %s through %s: %w", owner, ip, err)
	}
	return owner, nil
}

// firstAnswerBy returns the start of the first successful probe answered
// by node among those started at or after since. It is pure.
func firstAnswerBy(samples []probe.Sample, node string, since time.Time) (time.Time, bool) {
	var first time.Time
	for _, s := range samples {
		if s.OK() && s.Node == node && !s.Start.Before(since) && (first.IsZero() || s.Start.Before(first)) {
			first = s.Start
		}
	}
	return first, !first.IsZero()
}

// answersBy counts the successful probes answered by node that started at
// or after since. It is pure.
func answersBy(samples []probe.Sample, node string, since time.Time) int {
	n := 0
	for _, s := range samples {
		if s.OK() && s.Node == node && !s.Start.Before(since) {
			n++
		}
	}
	return n
}
