package controller_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/scheme"
	"github.com/pylonlb/pylon/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// harness is one test's controller with its own install namespace and
// Service namespace.
type harness struct {
	t       *testing.T
	c       client.Client
	ns      string // install namespace: configuration objects
	app     string // Services live here
	lbClass string
	stop    func()
	reg     *prometheus.Registry // the running controller's metrics
}

// newHarness creates namespaces and starts a controller serving lbClass.
func newHarness(t *testing.T, lbClass string) *harness {
	t.Helper()
	testenv.Require(t, env)
	h := &harness{t: t, c: env.Client, lbClass: lbClass,
		ns:  testenv.Namespace(t, env, "pylon", nil),
		app: testenv.Namespace(t, env, "app", map[string]string{"team": "blue"})}
	t.Cleanup(h.deleteServices)
	h.start()
	t.Cleanup(func() { h.stop() })
	return h
}

// start runs a controller until stop is called.
func (h *harness) start() {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	opts := controller.Options{Namespace: h.ns, LBClass: h.lbClass, MetricsAddr: "0", HealthAddr: "0",
		Registerer: h.reg, PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true}
	_, h.stop = runController(h.t, env.Config, opts)
}

// runController builds a controller manager for opts and runs it until
// the returned stop is called (at most once has effect).
func runController(t testing.TB, cfg *rest.Config, opts controller.Options) (ctrl.Manager, func()) {
	t.Helper()
	scheme, err := scheme.All()
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := controller.NewManager(cfg, scheme, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := controller.Setup(mgr, opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	return mgr, func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller stopped with error: %v", err)
			}
		})
	}
}

// restart stops the controller and starts a new one.
func (h *harness) restart() {
	h.stop()
	h.start()
}

// deleteServices removes the test's Services so later tests' controllers
// do not see them (envtest runs no namespace controller).
func (h *harness) deleteServices() {
	var list corev1.ServiceList
	_ = h.c.List(context.Background(), &list, client.InNamespace(h.app))
	for i := range list.Items {
		_ = h.c.Delete(context.Background(), &list.Items[i])
	}
}

// pool creates an IPAddressPool.
func (h *harness) pool(name string, spec v1beta1.IPAddressPoolSpec, labels ...string) *v1beta1.IPAddressPool {
	h.t.Helper()
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: labelMap(labels)}, Spec: spec}
	if err := h.c.Create(context.Background(), p); err != nil {
		h.t.Fatalf("create pool %s: %v", name, err)
	}
	return p
}

// svcOpt modifies a Service before it is created.
type svcOpt func(*corev1.Service)

func annotate(k, v string) svcOpt {
	return func(s *corev1.Service) { metav1.SetMetaDataAnnotation(&s.ObjectMeta, k, v) }
}
func withPorts(proto corev1.Protocol, ports ...int32) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Ports = nil
		for _, p := range ports {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Protocol: proto, Port: p, TargetPort: intstr.FromInt32(p)})
		}
	}
}
func dualStack(policy corev1.IPFamilyPolicy, fams ...corev1.IPFamily) svcOpt {
	return func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &policy; s.Spec.IPFamilies = fams }
}
func withLabels(kv ...string) svcOpt { return func(s *corev1.Service) { s.Labels = labelMap(kv) } }
func inNamespace(ns string) svcOpt   { return func(s *corev1.Service) { s.Namespace = ns } }

// service creates a LoadBalancer Service of the harness's class.
func (h *harness) service(name string, opts ...svcOpt) *corev1.Service {
	h.t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.app}, Spec: corev1.ServiceSpec{
		Type:     corev1.ServiceTypeLoadBalancer,
		Selector: map[string]string{"app": name},
	}}
	withPorts(corev1.ProtocolTCP, 80)(s)
	if h.lbClass != "" {
		s.Spec.LoadBalancerClass = &h.lbClass
	}
	for _, o := range opts {
		o(s)
	}
	if err := h.c.Create(context.Background(), s); err != nil {
		h.t.Fatalf("create Service %s: %v", name, err)
	}
	return s
}

// ips returns a Service's ingress addresses.
func (h *harness) ips(ns, name string) []string {
	s := &corev1.Service{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		return nil
	}
	var out []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		out = append(out, in.IP)
	}
	return out
}

// waitIPs waits until the Service in the app namespace has n addresses.
func (h *harness) waitIPs(name string, n int) []string {
	h.t.Helper()
	var got []string
	eventually(h.t, func() (bool, string) {
		got = h.ips(h.app, name)
		return len(got) == n, fmt.Sprintf("Service %s has addresses %v, want %d", name, got, n)
	})
	return got
}

// waitEvent waits for an event on the object whose note contains text.
func (h *harness) waitEvent(ns, name, reason, text string) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		var list eventsv1.EventList
		if err := h.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				if strings.Contains(e.Note, text) {
					return true, ""
				}
				seen = append(seen, e.Note)
			}
		}
		return false, fmt.Sprintf("no %s event on %s containing %q; seen %q", reason, name, text, seen)
	})
}

// stays checks that cond holds for a while (for "nothing happens").
func stays(t *testing.T, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, msg := cond(); !ok {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls cond until it holds (see testenv.Eventually).
func eventually(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	testenv.Eventually(t, cond)
}

func labelMap(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func spec(addrs ...string) v1beta1.IPAddressPoolSpec {
	return v1beta1.IPAddressPoolSpec{Addresses: addrs}
}

func ptr[T any](v T) *T { return &v }

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
