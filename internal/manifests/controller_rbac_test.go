package manifests_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/scheme"
	"github.com/pylonlb/pylon/internal/testenv"
	"github.com/pylonlb/pylon/internal/webhook"
)

// TestControllerRunsWithItsRBAC runs the real controller as its
// ServiceAccount (impersonated) with only the RBAC of config/default, and
// checks everything it does succeeds: leader election, the memberlist
// Secret, the webhook's certificate Secret and caBundle, admission
// checks, an allocation, pool status and an event. The webhook
// configuration of config/default is pointed at the controller on
// 127.0.0.1 (the API server reaches no Service here).
func TestControllerRunsWithItsRBAC(t *testing.T) {
	testenv.Require(t, env)
	apply(t, "test-kustomize", kustomizeDefault(t))
	ctx := context.Background()
	const ns = "pylon-system"
	port := webhookOnLoopback(t)
	startController(t, ns, port)
	pool := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac-test", Namespace: ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.0.2.0/28"}}}
	eventually(t, "the webhook admits a pool", func() error { return env.Client.Create(ctx, pool.DeepCopy()) })
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pool) })
	eventually(t, "the webhook refuses an overlapping pool", func() error {
		overlap := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac-overlap", Namespace: ns},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.0.2.8/29"}}}
		err := env.Client.Create(ctx, overlap, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "denied the request") || !strings.Contains(err.Error(), "overlaps 192.0.2.0/28") {
			return fmt.Errorf("dry run: %v", err)
		}
		return nil
	})
	// Nothing serves the webhook once this test's controller stops.
	defer deleteWebhookConfig(t, webhook.DefaultConfigName)

	app := testenv.Namespace(t, env, "rbac-app", nil)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: app, Annotations: map[string]string{"pylonlb.io/address-pool": "rbac-test"}},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	create(t, svc)
	eventually(t, "the Service gets an external IP", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		return nil
	})
	eventually(t, "the pool status counts it", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
			return err
		}
		if pool.Status.AssignedIPv4 != 1 {
			return fmt.Errorf("assignedIPv4 = %d", pool.Status.AssignedIPv4)
		}
		return nil
	})
	eventually(t, "the memberlist and webhook certificate Secrets and the leader lease exist", func() error {
		for _, name := range []string{"pylon-memberlist", webhook.DefaultSecretName} {
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.Secret{}); err != nil {
				return err
			}
		}
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pylon-controller"}, &coordinationv1.Lease{})
	})
	eventually(t, "an IPAllocated event is recorded", func() error {
		var events corev1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(app)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Reason == "IPAllocated" && e.InvolvedObject.Name == svc.Name {
				return nil
			}
		}
		return fmt.Errorf("%d events, none IPAllocated for %s", len(events.Items), svc.Name)
	})
}

// webhookOnLoopback points the applied webhook configuration at
// https://127.0.0.1 on a free port and returns the port.
func webhookOnLoopback(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: webhook.DefaultConfigName}, vwc); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, webhook.Path)
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	if err := env.Client.Update(context.Background(), vwc); err != nil {
		t.Fatal(err)
	}
	return port
}

// startController runs the controller for ns as ServiceAccount
// pylon-controller until the test ends, serving the webhook on
// 127.0.0.1:port.
func startController(t *testing.T, ns string, port int) {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":pylon-controller",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	scheme, err := scheme.All()
	if err != nil {
		t.Fatal(err)
	}
	opts := controller.Options{Namespace: ns, MetricsAddr: "0", HealthAddr: "0", LeaderElection: true,
		Registerer: prometheus.NewRegistry(), PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true,
		Webhook: webhook.Options{Host: "127.0.0.1", Port: port, CertDir: t.TempDir(), ExtraSANs: []string{"127.0.0.1"}}}
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller stopped with error: %v", err)
		}
	})
}

// create creates obj as the administrator and deletes it after the test.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
}

// eventually polls check until it succeeds or 30 s pass.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) {
			last = check()
			return last == nil, nil
		})
	if err != nil {
		t.Fatalf("%s: %v (last: %v)", what, err, last)
	}
}
