package manifests_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cmdutil"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/testenv"
)

// TestControllerRunsWithItsRBAC runs the real controller as its
// ServiceAccount (impersonated) with only the RBAC of config/default, and
// checks everything it does succeeds: leader election, the memberlist
// Secret, an allocation, pool status and an event.
func TestControllerRunsWithItsRBAC(t *testing.T) {
	testenv.Require(t, env)
	apply(t, "test-kustomize", kustomizeDefault(t))
	ctx := context.Background()
	const ns = "pylon-system"
	pool := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac-test", Namespace: ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.0.2.0/28"}}}
	create(t, pool)
	startController(t, ns)

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
	eventually(t, "the memberlist Secret and the leader lease exist", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pylon-memberlist"}, &corev1.Secret{}); err != nil {
			return err
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

// startController runs the controller for ns as ServiceAccount
// pylon-controller until the test ends.
func startController(t *testing.T, ns string) {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":pylon-controller",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	scheme, err := cmdutil.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	opts := controller.Options{Namespace: ns, MetricsAddr: "0", HealthAddr: "0", LeaderElection: true,
		Registerer: prometheus.NewRegistry(), PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true}
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
