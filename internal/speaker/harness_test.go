package speaker_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp/bgptest"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/speaker"
	"github.com/pylonlb/pylon/internal/speaker/speakertest"
	"github.com/pylonlb/pylon/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// fakeRouter is a bgptest.Fake that runs until its context ends.
type fakeRouter struct{ *bgptest.Fake }

func (fakeRouter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// node is one speaker under test.
type node struct {
	name      string
	members   *speakertest.Members
	announcer *speakertest.Announcer
	router    *bgptest.Fake
	detector  *speakertest.Detector
	registry  *prometheus.Registry
	stop      func()
}

// harness is one test's cluster: namespaces, Nodes and speakers.
type harness struct {
	t       *testing.T
	c       client.Client
	ns, app string
	class   string
	cluster *speakertest.Cluster
	segment *speakertest.Segment // the nodes' LAN
	nodes   map[string]*node
	// grace is the StartupGrace of the speakers started next: long by
	// default, so that speakers open by meeting every Node's speaker, as
	// they do in a healthy cluster, however slowly the test machine runs.
	grace time.Duration
	// restartGrace and rolling are the RestartGrace of the speakers
	// started next and whether they stop for a rolling update.
	restartGrace time.Duration
	rolling      atomic.Bool
	// handoff is the HandoffTimeout of the speakers started next (500 ms
	// unless set); isolated starts the next speakers off the segment (the
	// others never see their claims).
	handoff  time.Duration
	isolated bool
	// gracefulShutdown is the GracefulShutdown of the speakers started
	// next (0: off).
	gracefulShutdown time.Duration
}

// newHarness creates namespaces and Node objects, and starts a speaker for
// each node.
func newHarness(t *testing.T, nodeNames ...string) *harness {
	t.Helper()
	testenv.Require(t, env)
	h := &harness{t: t, c: env.Client, cluster: speakertest.NewCluster(), segment: speakertest.NewSegment(), nodes: map[string]*node{}, grace: time.Minute,
		ns: testenv.Namespace(t, env, "pylon", nil), app: testenv.Namespace(t, env, "app", nil)}
	h.class = "pylon-" + h.app
	for i, n := range nodeNames {
		h.createNode(n, i)
	}
	for _, n := range nodeNames {
		h.startSpeaker(n)
	}
	return h
}

// nodeName makes cluster-scoped node names unique per test.
func (h *harness) nodeName(short string) string { return h.app + "-" + short }

// createNode creates a Ready Node with addresses.
func (h *harness) createNode(short string, i int) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: h.nodeName(short), Labels: map[string]string{"short": short}}}
	if err := h.c.Create(context.Background(), n); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = h.c.Delete(context.Background(), n) })
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("192.168.77.%d", 11+i)},
		{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("fd00:77::%d", 11+i)},
	}
	if err := h.c.Status().Update(context.Background(), n); err != nil {
		h.t.Fatal(err)
	}
}

// startSpeaker runs one speaker with fake I/O components.
func (h *harness) startSpeaker(short string) {
	name := h.nodeName(short)
	n := &node{name: name, members: h.cluster.Join(name), announcer: h.segment.Announcer(), router: bgptest.NewFake(),
		detector: speakertest.NewDetector(), registry: prometheus.NewRegistry()}
	if h.isolated {
		n.announcer = speakertest.NewAnnouncer()
	}
	handoff := cmp.Or(h.handoff, 500*time.Millisecond)
	n.router.AutoEstablish = true
	opts := speaker.Options{NodeName: name, Namespace: h.ns, LBClass: h.class, MetricsAddr: "0",
		Membership: membership.Config{BindPort: 7946}, StartupGrace: h.grace,
		HandoffTimeout: handoff, Registerer: n.registry,
		RestartGrace: h.restartGrace, Rolling: h.rolling.Load, GracefulShutdown: h.gracefulShutdown,
		Logger: testLogger()}
	opts.HeartbeatPort = 7947
	proc, err := speaker.NewProcessWith(env.Config, opts, speaker.Components{Members: n.members, Announcer: n.announcer,
		NewRouter: func(netip.Addr) (speaker.Router, error) { return fakeRouter{n.router}, nil }, Detector: n.detector})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("speaker %s stopped with error: %v", short, err)
		}
	}
	h.t.Cleanup(n.stop)
	h.nodes[short] = n
}

// setUnschedulable cordons (or uncordons) a node, as kubectl cordon does.
func (h *harness) setUnschedulable(short string, v bool) {
	h.t.Helper()
	n := &corev1.Node{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: h.nodeName(short)}, n); err != nil {
		h.t.Fatal(err)
	}
	n.Spec.Unschedulable = v
	if err := h.c.Update(context.Background(), n); err != nil {
		h.t.Fatal(err)
	}
}

// apply creates configuration objects in the install namespace.
func (h *harness) apply(objs ...client.Object) {
	h.t.Helper()
	for _, o := range objs {
		o.SetNamespace(h.ns)
		if err := h.c.Create(context.Background(), o); err != nil {
			h.t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// service creates a LoadBalancer Service with the given ingress addresses
// and ready endpoints on the given nodes (short names).
func (h *harness) service(name string, local bool, ips []string, epNodes ...string) *corev1.Service {
	h.t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.app}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &h.class,
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
	}}
	if local {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	if err := h.c.Create(context.Background(), s); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = h.c.Delete(context.Background(), s) })
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	if err := h.c.Status().Update(context.Background(), s); err != nil {
		h.t.Fatal(err)
	}
	h.endpoints(name, true, epNodes...)
	return s
}

// endpoints replaces a Service's EndpointSlice: one endpoint per node.
func (h *harness) endpoints(svc string, ready bool, nodes ...string) {
	h.t.Helper()
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svc + "-eps", Namespace: h.app,
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, AddressType: discoveryv1.AddressTypeIPv4}
	for i, n := range nodes {
		nodeName := h.nodeName(n)
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.0.%d", i+1)},
			NodeName: &nodeName, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	existing := &discoveryv1.EndpointSlice{}
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(es), existing); err == nil {
		es.ResourceVersion = existing.ResourceVersion
		if err := h.c.Update(context.Background(), es); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	if err := h.c.Create(context.Background(), es); err != nil {
		h.t.Fatal(err)
	}
}

// l2Owners returns the short names of nodes announcing ip.
func (h *harness) l2Owners(ip string) []string {
	var out []string
	for short, n := range h.nodes {
		if _, ok := n.announcer.Announced()[netip.MustParseAddr(ip)]; ok {
			out = append(out, short)
		}
	}
	return out
}

// waitOwner waits until exactly the given node (or none, for "") owns ip.
func (h *harness) waitOwner(ip, want string) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		got := h.l2Owners(ip)
		if want == "" {
			return len(got) == 0, fmt.Sprintf("%s announced by %v, want nobody", ip, got)
		}
		return len(got) == 1 && got[0] == want, fmt.Sprintf("%s announced by %v, want %s", ip, got, want)
	})
}

// bgpAnnouncers returns the short names of nodes announcing prefix.
func (h *harness) bgpAnnouncers(prefix string) []string {
	var out []string
	for short, n := range h.nodes {
		for _, p := range n.router.Paths() {
			if p.Prefix.String() == prefix {
				out = append(out, short)
			}
		}
	}
	return slices.Sorted(slices.Values(out))
}

// eventually polls cond until it holds (see testenv.Eventually).
func eventually(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	testenv.Eventually(t, cond)
}

func l2Pool(name string, addrs ...string) *v1beta1.IPAddressPool {
	return &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1beta1.IPAddressPoolSpec{Addresses: addrs}}
}

// testLogger logs to stderr when PYLON_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("PYLON_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
