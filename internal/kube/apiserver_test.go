package kube_test

import (
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// newClient returns the speaker's client for the test API server.
func newClient(t *testing.T) *kube.Client {
	t.Helper()
	testenv.Require(t, env)
	s, err := kube.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kube.New(env.Config, s)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// TestWritesAgainstAPIServer exercises every write against a real API
// server: a built-in kind (protobuf), a cluster-scoped one, and Pylon's
// (JSON, server-side apply).
func TestWritesAgainstAPIServer(t *testing.T) {
	kc := newClient(t)
	ctx := t.Context()
	ns := testenv.Namespace(t, env, "kube", nil)

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := kc.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if svc.UID == "" || svc.Spec.ClusterIP == "" {
		t.Errorf("Create did not read the created Service back: uid %q, clusterIP %q", svc.UID, svc.Spec.ClusterIP)
	}
	if err := kc.MergePatch(ctx, svc, []byte(`{"metadata":{"labels":{"tier":"gold"}}}`)); err != nil {
		t.Fatal(err)
	}
	got := &corev1.Service{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(svc), got); err != nil || got.Labels["tier"] != "gold" {
		t.Errorf("after MergePatch: labels %v, %v", got.Labels, err)
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + ns}}
	if err := kc.Create(ctx, node); err != nil {
		t.Fatalf("create a cluster-scoped object: %v", err)
	}
	if err := kc.Delete(ctx, node); err != nil {
		t.Fatalf("delete a cluster-scoped object: %v", err)
	}

	st := func(n string) *v1beta1.ServiceL2Status {
		return &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Status: v1beta1.ServiceL2StatusStatus{ServiceName: "web", ServiceNamespace: ns, Node: n, IPs: []string{"192.0.2.1"}, Since: metav1.Now()}}
	}
	for _, n := range []string{"node-a", "node-b"} { // creates, then updates
		if err := kc.Apply(ctx, st(n), "pylon-test"); err != nil {
			t.Fatalf("apply naming %s: %v", n, err)
		}
	}
	applied := &v1beta1.ServiceL2Status{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, applied); err != nil || applied.Status.Node != "node-b" {
		t.Errorf("after two applies: node %q, %v; want node-b", applied.Status.Node, err)
	}
	if err := kc.Delete(ctx, st("")); err != nil {
		t.Fatal(err)
	}
	if err := kc.Delete(ctx, st("")); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
}

// TestInformerListsWatchesAndTransforms checks an informer built by the
// client: it lists what exists, sees what comes later, and stores what the
// transform returns.
func TestInformerListsWatchesAndTransforms(t *testing.T) {
	kc := newClient(t)
	ctx := t.Context()
	ns := testenv.Namespace(t, env, "kube", nil)
	mk := func(name string) {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{"big": "x"}},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	mk("before")
	inf, err := kc.Informer(&corev1.Service{}, kube.InformerOptions{Namespace: ns, Transform: func(o any) (any, error) {
		if s, ok := o.(*corev1.Service); ok {
			s.Annotations = nil
		}
		return o, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go inf.RunWithContext(runCtx)
	if !cache.WaitForCacheSync(runCtx.Done(), inf.HasSynced) {
		t.Fatal("informer never synced")
	}
	mk("after")
	testenv.Eventually(t, func() (bool, string) {
		keys := inf.GetStore().ListKeys()
		if len(keys) != 2 {
			return false, "store keys " + keyList(keys)
		}
		for _, o := range inf.GetStore().List() {
			if s := o.(*corev1.Service); s.Annotations != nil {
				return false, "stored an untransformed Service " + s.Name
			}
		}
		return true, ""
	})
	plain, err := kc.Informer(&corev1.Service{}, kube.InformerOptions{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	go plain.RunWithContext(runCtx)
	if !cache.WaitForCacheSync(runCtx.Done(), plain.HasSynced) {
		t.Fatal("second informer never synced")
	}
	for _, o := range plain.GetStore().List() {
		if s := o.(*corev1.Service); s.ManagedFields != nil || s.Annotations["big"] != "x" {
			t.Errorf("default transform: %s kept managed fields or lost its annotations", s.Name)
		}
	}
}

func keyList(keys []string) string {
	out := ""
	for _, k := range keys {
		out += k + " "
	}
	return out
}
