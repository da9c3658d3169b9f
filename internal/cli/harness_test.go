package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cli"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/scheme"
	"github.com/pylonlb/pylon/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// harness is one test's cluster: Pylon's namespace with a running
// controller, an application namespace, and the plugin pointed at them.
type harness struct {
	t       *testing.T
	c       client.Client
	ns, app string
	class   string
	kubecfg string
}

var (
	kubeOnce sync.Once
	kubeData []byte
	kubeErr  error
)

// newHarness creates the namespaces and starts the real controller.
func newHarness(t *testing.T) *harness {
	t.Helper()
	testenv.Require(t, env)
	h := &harness{t: t, c: env.Client, ns: testenv.Namespace(t, env, "pylon", nil), app: testenv.Namespace(t, env, "app", nil)}
	h.class = "pylon-" + h.app
	kubeOnce.Do(func() { kubeData, kubeErr = env.KubeConfig() })
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	h.kubecfg = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(h.kubecfg, kubeData, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.deleteServices)
	h.startController()
	return h
}

// startController runs the controller for the test's class and namespace.
func (h *harness) startController() {
	s, err := scheme.All()
	if err != nil {
		h.t.Fatal(err)
	}
	opts := controller.Options{Namespace: h.ns, LBClass: h.class, MetricsAddr: "0", HealthAddr: "0",
		Registerer: prometheus.NewRegistry(), PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true}
	mgr, err := controller.NewManager(env.Config, s, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := controller.Setup(mgr, opts); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("controller stopped with error: %v", err)
		}
	})
}

func (h *harness) deleteServices() {
	var list corev1.ServiceList
	_ = h.c.List(context.Background(), &list, client.InNamespace(h.app))
	for i := range list.Items {
		_ = h.c.Delete(context.Background(), &list.Items[i])
	}
}

// result is one run of the plugin.
type result struct {
	code        int
	out, errOut string
}

// run runs the plugin with the harness's connection and namespaces;
// stdin feeds -f -.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--kubeconfig", h.kubecfg, "--pylon-namespace", h.ns, "--lb-class", h.class)
	if !hasFlag(args, "-A") {
		args = append(args, "-n", h.app)
	}
	code := cli.Main(args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

// create creates an object, failing the test on error.
func (h *harness) create(obj client.Object) {
	h.t.Helper()
	if err := h.c.Create(context.Background(), obj); err != nil {
		h.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// pool creates an IPAddressPool in Pylon's namespace.
func (h *harness) pool(name string, autoAssign bool, addrs ...string) {
	h.create(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: addrs, AutoAssign: &autoAssign}})
}

// svcOpt changes a Service before it is created.
type svcOpt func(*corev1.Service)

func annotate(k, v string) svcOpt { return func(s *corev1.Service) { s.Annotations[k] = v } }

func local(s *corev1.Service) {
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
}

// service creates a LoadBalancer Service of the harness's class, port
// TCP/80.
func (h *harness) service(name string, opts ...svcOpt) *corev1.Service {
	h.t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.app, Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &h.class,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80)}}}}
	for _, o := range opts {
		o(s)
	}
	h.create(s)
	return s
}

// waitIPs waits until the Service has n addresses and returns them.
func (h *harness) waitIPs(name string, n int) []string {
	h.t.Helper()
	var got []string
	testenv.Eventually(h.t, func() (bool, string) {
		s := &corev1.Service{}
		if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: name}, s); err != nil {
			return false, err.Error()
		}
		got = nil
		for _, in := range s.Status.LoadBalancer.Ingress {
			got = append(got, in.IP)
		}
		return len(got) == n, fmt.Sprintf("Service %s has %v, want %d addresses", name, got, n)
	})
	return got
}

// failure waits for the controller's AllocationFailed event on a Service
// and returns its message.
func (h *harness) failure(name string) string {
	h.t.Helper()
	var msg string
	testenv.Eventually(h.t, func() (bool, string) {
		var list corev1.EventList
		if err := h.c.List(context.Background(), &list, client.InNamespace(h.app)); err != nil {
			return false, err.Error()
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.Reason == "AllocationFailed" {
				msg = e.Message
				return true, ""
			}
		}
		return false, "no AllocationFailed event on " + name
	})
	return msg
}

// node creates a Node; conditions may mark its network unavailable.
func (h *harness) node(name string, labels map[string]string, networkUnavailable bool) string {
	h.t.Helper()
	full := h.app + "-" + name
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: full, Labels: labels}}
	h.create(n)
	h.t.Cleanup(func() { _ = h.c.Delete(context.Background(), n) })
	if networkUnavailable {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue}}
		if err := h.c.Status().Update(context.Background(), n); err != nil {
			h.t.Fatal(err)
		}
	}
	return full
}

// speakerPod creates a running, ready speaker pod on a node.
func (h *harness) speakerPod(node string) {
	h.t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "speaker-" + node, Namespace: h.ns,
		Labels: map[string]string{"app.kubernetes.io/name": "pylon", "app.kubernetes.io/component": "speaker"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "speaker", Image: "pylon/speaker"}}}}
	h.create(p)
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if err := h.c.Status().Update(context.Background(), p); err != nil {
		h.t.Fatal(err)
	}
}

// endpoints creates an EndpointSlice of a Service with one ready
// endpoint on each node.
func (h *harness) endpoints(svc string, nodes ...string) {
	h.t.Helper()
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svc + "-eps", Namespace: h.app,
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, AddressType: discoveryv1.AddressTypeIPv4}
	for i, n := range nodes {
		ready := true
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.0.%d", i+1)},
			NodeName: &n, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	h.create(es)
}

// wantLine fails unless the text has a line containing every part.
func wantLine(t *testing.T, what, text string, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("%s: no line with %q in:\n%s", what, parts, text)
}

func splitLines(s string) []string { return strings.Split(s, "\n") }
func contains(s, sub string) bool  { return strings.Contains(s, sub) }
