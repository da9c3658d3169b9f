package statusq

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pylonlb/pylon/internal/testenv"

	"github.com/pylonlb/pylon/internal/kube/crwriter"
)

// TestDeletedObjectsAreForgotten: once an object's delete is written, the
// queue keeps nothing about it, so churn of Services does not grow it.
func TestDeletedObjectsAreForgotten(t *testing.T) {
	var applies, deletes atomic.Int32
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			applies.Add(1)
			return nil
		},
		Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
			deletes.Add(1)
			return nil
		},
	}).Build()
	q := New(crwriter.New(c), "test", nil, clocktesting.NewFakePassiveClock(time.Unix(1000, 0)), nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	defer func() { cancel(); <-done }()

	obj := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "state"}}
	q.Put(obj, time.Second)
	waitFor(t, func() bool { return applies.Load() == 1 })
	q.Delete(obj)
	waitFor(t, func() bool { return deletes.Load() == 1 })
	waitFor(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.desired) == 0 && len(q.lastWrite) == 0
	})
}

// waitFor polls cond until it holds (testenv.Eventually).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, func() (bool, string) { return cond(), "timed out" })
}
