package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"

	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// bfdConfig is the bgp-bfd configuration: one IPv4 session per node with a
// 9 s hold time and BFD at 100 ms × 3 (bfdPeerWithout is the same session
// without BFD, the baseline), and a BGP pool.
const bfdConfig = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-bfd}
spec:
  addresses: [198.51.100.0/28]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: BFDProfile
metadata: {name: fast}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bench-bfd}
spec:
  ipAddressPools: [bench-bfd]
---
` + bfdPeerWith

const (
	bfdPeerWith = `apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: router}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, holdTime: 9s, connectTime: 1s, bfdProfile: fast}
`
	bfdPeerWithout = `apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: router}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, holdTime: 9s, connectTime: 1s}
`
)

// bfdLab is a lab for bgp-bfd: FRR with BFD on its IPv4 listen range, and
// one Local Service per node (its only endpoint there), whose route leaves
// the router when that node's session goes down.
type bfdLab struct {
	l     *lab.Lab
	frr   *routers.FRR
	log   *eventLog
	dsts  map[string]netip.Prefix // by node
	close func()
}

// bfdTrial is one link cut: until FRR's session left Established (its
// log) and until the route left the router's kernel (ip monitor).
type bfdTrial struct {
	session, kernel time.Duration
}

func runBGPBFD(ctx context.Context, env *Env) ([]Figure, error) {
	b, err := startBFDLab(ctx, env)
	if err != nil {
		return nil, err
	}
	defer b.close()
	n := env.Trials(9)
	env.Printf("%d link cuts with BFD 100 ms × 3 (nodes in turn), then 2 with the 9 s hold time alone", n)
	var withBFD, holdOnly []bfdTrial
	for i := range n {
		t, err := b.cut(ctx, b.l.NodeNames()[i%len(b.l.NodeNames())], true)
		if err != nil {
			return bfdFigures(withBFD, holdOnly), fmt.Errorf("BFD trial %d: %w", i+1, err)
		}
		withBFD = append(withBFD, t)
	}
	if err := b.l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(bfdPeerWithout)); err != nil {
		return bfdFigures(withBFD, holdOnly), err
	}
	for i := range 2 {
		t, err := b.cut(ctx, b.l.NodeNames()[i], false)
		if err != nil {
			return bfdFigures(withBFD, holdOnly), fmt.Errorf("hold-time trial %d: %w", i+1, err)
		}
		env.Printf("hold time alone: route gone after %v", t.kernel.Round(time.Millisecond))
		holdOnly = append(holdOnly, t)
	}
	return bfdFigures(withBFD, holdOnly), nil
}

// startBFDLab brings the lab up: FRR with BFD, Pylon with bfdConfig, the
// three Local Services announced, and the route and log watchers.
func startBFDLab(ctx context.Context, env *Env) (*bfdLab, error) {
	l, err := env.Lab(ctx, lab.Options{})
	if err != nil {
		return nil, err
	}
	cfg := demo.RouterConfig(l)
	cfg.Listen = cfg.Listen[:1] // IPv4 only
	cfg.Listen[0].BFD = true
	frr, err := l.StartFRR(ctx, "router", cfg)
	if err != nil {
		return nil, err
	}
	if _, err := demo.Prepare(ctx, l, demo.Options{NoRouter: true, Config: bfdConfig}); err != nil {
		return nil, err
	}
	rw, err := watchRouter(ctx, l.Router().NS, frr)
	if err != nil {
		return nil, err
	}
	b := &bfdLab{l: l, frr: frr, log: rw.eventLog, dsts: map[string]netip.Prefix{}, close: rw.Close}
	if err := b.services(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// services creates one Local Service per node with its only endpoint
// there.
func (b *bfdLab) services(ctx context.Context) error {
	if err := b.l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return err
	}
	for _, n := range b.l.Topo.Nodes() {
		nn := types.NamespacedName{Namespace: benchNamespace, Name: "bfd-" + n.Name}
		svc := kube.NewLoadBalancer(nn.Namespace, nn.Name)
		svc.Annotations = map[string]string{v1beta1.AnnotationAddressPool: "bench-bfd"}
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		if _, err := b.l.Admin.Kube.CoreV1().Services(nn.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s: %w", nn, err)
		}
		if err := b.l.Admin.SetEndpoints(ctx, nn, []kube.Endpoint{{Node: n.Name, Addr: n.IPv4(), Ready: true}}); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ips, err := b.l.Admin.WaitIngress(wctx, nn, 1)
		cancel()
		if err != nil {
			return err
		}
		b.dsts[n.Name] = netip.PrefixFrom(ips[0], 32)
	}
	return nil
}

// cut waits until node's session is up (with BFD up at FRR when bfd) and
// its route is in the router's kernel, cuts its link, measures until
// FRR's session left Established and the route left the kernel, and
// restores the link.
func (b *bfdLab) cut(ctx context.Context, node string, bfd bool) (bfdTrial, error) {
	addr, dst := b.l.Node(node).IPv4(), b.dsts[node]
	if err := b.ready(ctx, addr, dst, bfd); err != nil {
		return bfdTrial{}, err
	}
	t0 := time.Now()
	if err := b.l.CutLink(ctx, node); err != nil {
		return bfdTrial{}, err
	}
	defer b.l.RestoreLink(context.WithoutCancel(ctx), node)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	atKernel, err := b.log.wait(wctx, kernelDel(dst), t0)
	if err != nil {
		return bfdTrial{}, err
	}
	atSession, err := b.log.wait(wctx, bgpSessionDown(addr), t0)
	if err != nil {
		return bfdTrial{}, err
	}
	return bfdTrial{session: atSession.Sub(t0), kernel: atKernel.Sub(t0)}, nil
}

// ready waits until FRR has an established session from addr (and an up
// BFD session when bfd) and the router's kernel routes dst.
func (b *bfdLab) ready(ctx context.Context, addr netip.Addr, dst netip.Prefix, bfd bool) error {
	return wait.For(ctx, 60*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		ss, err := b.frr.Sessions(ctx)
		if err != nil || !established(ss, addr) {
			return false, err
		}
		if bfd {
			peers, err := b.frr.BFDPeers(ctx)
			if err != nil || !bfdPeerUp(peers, addr) {
				return false, err
			}
		}
		rs, err := b.l.KernelRoutes(ctx, "router")
		_, ok := routers.KernelRouteTo(rs, dst)
		return ok, err
	})
}

func established(ss []routers.Session, addr netip.Addr) bool {
	for _, s := range ss {
		if s.Peer == addr && s.State == "Established" {
			return true
		}
	}
	return false
}

func bfdPeerUp(peers []routers.BFDPeer, addr netip.Addr) bool {
	for _, p := range peers {
		if p.Peer == addr && p.Status == "up" {
			return true
		}
	}
	return false
}

func bfdFigures(withBFD, holdOnly []bfdTrial) []Figure {
	if len(withBFD) == 0 {
		return nil
	}
	var kern, sess, hold []time.Duration
	for _, t := range withBFD {
		kern, sess = append(kern, t.kernel), append(sess, t.session)
	}
	for _, t := range holdOnly {
		hold = append(hold, t.kernel)
	}
	k, s, h := Summarize(kern), Summarize(sess), Summarize(hold)
	figs := []Figure{
		{Name: "Node link cut → route withdrawn from the router's kernel, BFD 100 ms × 3 (p50)", Value: Millis(k.P50), Unit: "ms",
			Spread: k.Spread(time.Millisecond), MetalLB: "hold-timer expiry (8 s with hold 9 s)", Target: "≤ 1 s", Pass: Met(k.P50 <= time.Second),
			Note: fmt.Sprintf("cut (bridge port down) → `ip monitor` deletion; FRR's session left Established after %s ms (p50)", Format(Millis(s.P50)))},
	}
	if len(hold) > 0 {
		figs = append(figs, Figure{Name: "Node link cut → route withdrawn, hold time 9 s alone (baseline, same lab)", Value: Seconds(h.P50), Unit: "s",
			Spread: h.Spread(time.Second), MetalLB: "8 s with hold 9 s"})
	}
	return figs
}
