// Package poolstatus keeps each IPAddressPool's status (addresses assigned
// and available per family) in line with the allocator. Writes are
// rate-limited per pool so a burst of allocations costs a handful of status
// updates, not one per Service.
package poolstatus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
)

// StatsSource reports a pool's usage; false when the pool is not in the
// configuration in force.
type StatsSource interface {
	Stats(pool string) (ipam.PoolStats, bool)
}

// Options configures the reconciler.
type Options struct {
	// Namespace is Pylon's install namespace.
	Namespace string
	// MinInterval is the shortest time between two status writes of one
	// pool. Default 1s.
	MinInterval time.Duration
	// Clock is injected for tests; nil means the real clock.
	Clock clock.Clock
}

// Reconciler writes pool status.
type Reconciler struct {
	client  client.Client
	stats   StatsSource
	opts    Options
	trigger chan event.GenericEvent

	mu        sync.Mutex
	lastWrite map[string]time.Time
}

// New builds a reconciler; SetupWithManager registers it.
func New(c client.Client, stats StatsSource, opts Options) *Reconciler {
	if opts.MinInterval == 0 {
		opts.MinInterval = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Reconciler{client: c, stats: stats, opts: opts,
		trigger: make(chan event.GenericEvent, 1), lastWrite: map[string]time.Time{}}
}

// Changed signals that some pool's usage may have changed. It never blocks.
func (r *Reconciler) Changed() {
	select {
	case r.trigger <- event.GenericEvent{Object: &v1beta1.IPAddressPool{}}:
	default:
	}
}

// SetupWithManager watches pools and the change signal.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	allPools := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list v1beta1.IPAddressPoolList
		if err := r.client.List(ctx, &list, client.InNamespace(r.opts.Namespace)); err != nil {
			return nil
		}
		out := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.opts.Namespace, Name: list.Items[i].Name}}
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("poolstatus").
		For(&v1beta1.IPAddressPool{}).
		WatchesRawSource(source.Channel(r.trigger, allPools)).
		Complete(r)
}

// Reconcile writes one pool's status when it differs from the allocator's
// view, at most once per MinInterval.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if req.Namespace != r.opts.Namespace {
		return reconcile.Result{}, nil
	}
	pool := &v1beta1.IPAddressPool{}
	if err := r.client.Get(ctx, req.NamespacedName, pool); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get IPAddressPool %s: %w", req.Name, err)
	}
	st, ok := r.stats.Stats(pool.Name)
	if !ok {
		return reconcile.Result{}, nil // not in the configuration in force (e.g. invalid)
	}
	want := v1beta1.IPAddressPoolStatus{AssignedIPv4: st.AssignedIPv4, AssignedIPv6: st.AssignedIPv6,
		AvailableIPv4: st.AvailableIPv4, AvailableIPv6: st.AvailableIPv6}
	if pool.Status == want {
		return reconcile.Result{}, nil
	}
	if wait := r.wait(pool.Name); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	// The whole status goes in the patch: a diff against the old status
	// would leave out fields that stay zero, which the schema requires.
	data, err := json.Marshal(map[string]any{"status": want})
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("encode status: %w", err)
	}
	if err := r.client.Status().Patch(ctx, pool, client.RawPatch(types.MergePatchType, data)); err != nil {
		return reconcile.Result{}, fmt.Errorf("write status of IPAddressPool %s: %w", pool.Name, err)
	}
	return reconcile.Result{}, nil
}

// wait returns how long to wait before the pool's next write, or 0 and
// records a write now.
func (r *Reconciler) wait(pool string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Clock.Now()
	if last, ok := r.lastWrite[pool]; ok {
		if d := r.opts.MinInterval - now.Sub(last); d > 0 {
			return d
		}
	}
	r.lastWrite[pool] = now
	return 0
}

// forget drops a deleted pool's rate-limit state.
func (r *Reconciler) forget(pool string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.lastWrite, pool)
}
