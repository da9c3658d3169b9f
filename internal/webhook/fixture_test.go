package webhook_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/certs"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/scheme"
	"github.com/pylonlb/pylon/internal/testenv"
	"github.com/pylonlb/pylon/internal/webhook"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// fixture is one test's Pylon namespace with in-process controllers
// serving the webhook on 127.0.0.1, registered with the API server by a
// ValidatingWebhookConfiguration whose caBundle the controllers inject.
type fixture struct {
	t        testing.TB
	c        client.Client // records warnings
	warnings *warningLog
	ns, app  string
	config   string // ValidatingWebhookConfiguration name
	port     int    // the port the configuration calls
	clock    *shiftedClock
}

// fixtureOpts changes a fixture.
type fixtureOpts struct {
	// before creates objects before the webhook is registered.
	before func(f *fixture)
	// replicas run with leader election; the webhook configuration calls
	// the last one, which is not the leader. 0 means one replica without
	// leader election.
	replicas int
	// lifetimes and interval of the certificates; zero: defaults.
	lifetimes certs.Lifetimes
	interval  time.Duration
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	testenv.Require(t, env)
	f := &fixture{t: t, warnings: &warningLog{}, clock: &shiftedClock{},
		ns: testenv.Namespace(t, env, "pylon", nil), app: testenv.Namespace(t, env, "app", nil)}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandlerWithContext = f.warnings
	var err error
	if f.c, err = client.New(cfg, client.Options{Scheme: env.Client.Scheme()}); err != nil {
		t.Fatal(err)
	}
	if o.before != nil {
		o.before(f)
	}
	f.config = "pylon-webhook-" + f.ns
	t.Cleanup(f.deleteServices)
	if o.replicas == 0 {
		f.port = f.startController(false, o)
	}
	for i := range o.replicas {
		f.port = f.startController(true, o)
		if i == 0 {
			f.waitLeader()
		}
	}
	f.registerWebhook()
	f.waitServing()
	return f
}

// registerWebhook creates the configuration: every checked kind and
// operation in f.ns, failing closed, like config/webhook.
func (f *fixture) registerWebhook() {
	f.t.Helper()
	url := fmt.Sprintf("https://127.0.0.1:%d%s", f.port, webhook.Path)
	fail, none, scope, timeout := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.NamespacedScope, int32(5)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: f.config},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "validate.pylonlb.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"pylonlb.io"}, APIVersions: []string{"v1beta1"}, Scope: &scope,
					Resources: []string{"ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": f.ns}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := env.Client.Create(context.Background(), vwc); err != nil {
		f.t.Fatalf("create webhook configuration: %v", err)
	}
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), vwc) })
}

// startController runs a controller for f.ns until the test ends and
// returns its webhook port.
func (f *fixture) startController(leaderElection bool, o fixtureOpts) int {
	f.t.Helper()
	scheme, err := scheme.All()
	if err != nil {
		f.t.Fatal(err)
	}
	port := freePort(f.t)
	opts := controller.Options{Namespace: f.ns, MetricsAddr: "0", HealthAddr: "0", LeaderElection: leaderElection,
		Registerer: prometheus.NewRegistry(), PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true,
		Webhook: webhook.Options{Host: "127.0.0.1", Port: port, CertDir: f.t.TempDir(), ExtraSANs: []string{"127.0.0.1"},
			ConfigName: f.config, Lifetimes: o.lifetimes, CertCheckInterval: o.interval, Clock: f.clock}}
	mgr, err := controller.NewManager(env.Config, scheme, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := controller.Setup(mgr, opts); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("controller stopped with error: %v", err)
		}
	})
	return port
}

// waitLeader waits until a controller holds the leader lease.
func (f *fixture) waitLeader() {
	f.t.Helper()
	testenv.Eventually(f.t, func() (bool, string) {
		l := &coordinationv1.Lease{}
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "pylon-controller"}, l)
		return err == nil && l.Spec.HolderIdentity != nil, fmt.Sprintf("no leader yet (%v)", err)
	})
}

// waitServing waits until the API server gets answers from the webhook:
// the caBundle is injected and the server runs.
func (f *fixture) waitServing() {
	f.t.Helper()
	testenv.Eventually(f.t, func() (bool, string) {
		err := f.c.Create(context.Background(), invalidProfile(f.ns), client.DryRunAll)
		return denied(err), fmt.Sprintf("webhook not answering yet: %v", err)
	})
}

// invalidProfile is refused by the model (echo mode).
func invalidProfile(ns string) *v1beta1.BFDProfile {
	echo := true
	return &v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}, Spec: v1beta1.BFDProfileSpec{EchoMode: &echo}}
}

// denied reports whether err is a refusal by the webhook (not a failure
// to call it).
func denied(err error) bool {
	return err != nil && strings.Contains(err.Error(), `admission webhook "validate.pylonlb.io" denied the request`)
}

// mustCreate creates obj in f.ns, retrying while the webhook refuses it
// (the controller's cache may not hold an object it refers to yet).
func (f *fixture) mustCreate(obj client.Object) {
	f.t.Helper()
	obj.SetNamespace(f.ns)
	testenv.Eventually(f.t, func() (bool, string) {
		err := f.c.Create(context.Background(), obj)
		return err == nil, fmt.Sprintf("create %T %s: %v", obj, obj.GetName(), err)
	})
}

// op is a request made either as a dry run or for real.
type op func(dryRun bool) error

// refused waits until a dry run of o is refused (the controller's cache
// caught up), then makes the request for real and returns its error,
// which must be a refusal.
func (f *fixture) refused(o op) error {
	f.t.Helper()
	testenv.Eventually(f.t, func() (bool, string) {
		err := o(true)
		return denied(err), fmt.Sprintf("dry run not refused by the webhook: %v", err)
	})
	err := o(false)
	if !denied(err) {
		f.t.Fatalf("not refused by the webhook: %v", err)
	}
	return err
}

// createOp, updateOp and deleteOp make ops of client calls on f.ns.
func (f *fixture) createOp(obj client.Object) op {
	obj.SetNamespace(f.ns)
	return func(dryRun bool) error {
		var opts []client.CreateOption
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return f.c.Create(context.Background(), obj.DeepCopyObject().(client.Object), opts...)
	}
}

func (f *fixture) updateOp(obj client.Object) op {
	return func(dryRun bool) error {
		var opts []client.UpdateOption
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return f.c.Update(context.Background(), obj.DeepCopyObject().(client.Object), opts...)
	}
}

func (f *fixture) deleteOp(obj client.Object) op {
	obj.SetNamespace(f.ns)
	return func(dryRun bool) error {
		var opts []client.DeleteOption
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return f.c.Delete(context.Background(), obj.DeepCopyObject().(client.Object), opts...)
	}
}

// deleteServices removes the test's Services (envtest runs no namespace
// controller).
func (f *fixture) deleteServices() {
	var list corev1.ServiceList
	_ = env.Client.List(context.Background(), &list, client.InNamespace(f.app))
	for i := range list.Items {
		_ = env.Client.Delete(context.Background(), &list.Items[i])
	}
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// warningLog records the API server's warnings.
type warningLog struct {
	mu   sync.Mutex
	list []string
}

func (w *warningLog) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// take returns and forgets the warnings recorded so far.
func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// shiftedClock is the real clock moved forward by an offset the test
// sets: certificates issued "later" are still valid for the API server.
type shiftedClock struct {
	clock.RealClock
	offset atomic.Int64
}

func (c *shiftedClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *shiftedClock) shift(d time.Duration)           { c.offset.Add(int64(d)) }

// isInvalid and isForbidden classify refusals.
func isInvalid(err error) bool   { return apierrors.IsInvalid(err) }
func isForbidden(err error) bool { return apierrors.IsForbidden(err) }

// servedCert connects to the webhook and returns its certificate.
func servedCert(port int) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errNoCert
	}
	return certs[0], nil
}
