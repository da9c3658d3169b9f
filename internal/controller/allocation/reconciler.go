// Package allocation is the controller's Service reconciler: it gives
// LoadBalancer Services addresses from the configured pools, writes them to
// status.loadBalancer.ingress, and frees them when a Service goes away.
//
// The allocator's state is rebuilt from the Services' status when the
// controller starts, before any new allocation, so addresses never move
// because the controller restarted.
package allocation

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
	"github.com/pylonlb/pylon/internal/model"
)

// Event reasons on Services.
const (
	ReasonIPAllocated      = "IPAllocated"
	ReasonIPReleased       = "IPReleased"
	ReasonAllocationFailed = "AllocationFailed"
)

// Options configures the reconciler.
type Options struct {
	// LBClass is the spec.loadBalancerClass Pylon serves; "" serves only
	// Services without a class.
	LBClass string
	// Recorder emits events on Services.
	Recorder events.EventRecorder
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// MaxConcurrentReconciles bounds parallel API writes. Default 8.
	MaxConcurrentReconciles int
	// OnChange, optional, is called (without locks held) after any pool's
	// usage changed, e.g. to refresh pool status.
	OnChange func()
	// Namespace is Pylon's install namespace, where the pools are (for
	// events on them).
	Namespace string
	// OnConditions, optional, receives the conditions about reserved
	// addresses (ConditionAddressesReserved and
	// ConditionReservedAddressesInUse) after each refresh, from a
	// reconcile goroutine, without locks held. It must not block.
	OnConditions func([]metav1.Condition)
}

// Reconciler allocates addresses for Services. All allocator state is
// guarded by mu; API writes happen outside it.
type Reconciler struct {
	client  client.Client
	opts    Options
	metrics *metrics
	resync  chan event.GenericEvent
	// reservedSig asks for a refresh of the reserved addresses.
	reservedSig chan event.GenericEvent

	mu       sync.Mutex
	alloc    *ipam.Allocator
	cfg      *model.Config       // nil until the first valid configuration
	restored bool                // existing assignments restored
	failed   map[string]string   // key -> last failure reported
	reserved []model.Reservation // as last given to the allocator
	viewGen  uint64              // views of the reserved addresses taken
	// annotNotes holds, per Service, the alias and conflict messages
	// last reported, so each is reported once.
	annotNotes map[string][2]string

	// reportMu serialises reports of the reserved addresses and guards
	// what was last reported: the view's generation, the note per pool and
	// per "service address" held.
	reportMu             sync.Mutex
	reportedGen          uint64
	poolNotes, heldNotes map[string]string
}

// New builds a reconciler; SetupWithManager registers it.
func New(c client.Client, opts Options) *Reconciler {
	if opts.MaxConcurrentReconciles == 0 {
		opts.MaxConcurrentReconciles = 8
	}
	r := &Reconciler{
		client:  c,
		opts:    opts,
		metrics: newMetrics(opts.Registerer),
		resync:  make(chan event.GenericEvent, 1),
		alloc:   ipam.New(),
		failed:  map[string]string{},

		annotNotes: map[string][2]string{},
	}
	r.reservedSig = make(chan event.GenericEvent, 1)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(newPoolCollector(r))
	}
	return r
}

// SetupWithManager watches Services, namespace label changes, Node
// addresses (reserved addresses) and the reconciler's own signals.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("allocation").
		For(&corev1.Service{}).
		Watches(&corev1.Namespace{}, namespaceHandler(r.client), builder.WithPredicates(namespaceLabelsChanged())).
		Watches(&corev1.Node{}, toReservedKey(), builder.WithPredicates(nodeAddressesChanged())).
		Watches(&v1beta1.ConfigurationState{}, toReservedKey(), builder.WithPredicates(speakerInterfacesChanged())).
		WatchesRawSource(resyncSource(r.resync, r.client, r.isFailed)).
		WatchesRawSource(reservedSource(r.reservedSig)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.opts.MaxConcurrentReconciles}).
		Complete(r)
}

// SetConfig applies a new valid configuration and the addresses it
// reserves. The first one also restores every existing assignment from the
// Services' status before anything is allocated. It is configwatch's
// OnConfig.
func (r *Reconciler) SetConfig(ctx context.Context, cfg *model.Config) {
	log := logr.FromContextOrDiscard(ctx)
	r.mu.Lock()
	if err := r.alloc.SetPools(ipamPools(cfg)); err != nil {
		r.mu.Unlock()
		log.Error(err, "apply pools to the allocator")
		return
	}
	r.cfg = cfg
	res, err := r.reservations(ctx, cfg)
	if err == nil {
		_, err = r.applyReservedLocked(res)
	}
	if err != nil {
		// Nothing may be handed out before the network's own addresses
		// are known: the next configuration event retries (and, once
		// restored, the refresh of the reserved addresses).
		r.mu.Unlock()
		r.signalReserved()
		log.Error(err, "reserve the network's addresses; will retry with the next configuration event")
		return
	}
	if !r.restored {
		if err := r.restore(ctx); err != nil {
			r.mu.Unlock()
			log.Error(err, "restore existing assignments; will retry with the next configuration event")
			return
		}
		r.restored = true
	}
	view := r.reservedViewLocked()
	r.mu.Unlock()
	r.report(ctx, view)
	r.onChange()
	r.signalResync(resyncAll)
}

// Reconcile brings one Service's addresses in line with its spec and the
// configuration.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if req == reservedKey {
		return reconcile.Result{}, r.refreshReserved(ctx)
	}
	key := req.NamespacedName.String()
	svc := &corev1.Service{}
	if err := r.client.Get(ctx, req.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.release(key)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get Service %s: %w", key, err)
	}
	d, ok := r.decide(ctx, svc)
	if !ok {
		return reconcile.Result{}, nil
	}
	if err := r.apply(ctx, svc, d); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

// decision is what a Service's addresses should be.
type decision struct {
	ips     []netip.Addr // empty: no address
	pool    string
	err     error // why the Service has no (new) address; nil on success
	managed bool  // false: not ours (any of our leftovers are removed)
	freed   bool  // addresses were released
}

// decide runs the allocator for one Service. It returns false while no
// configuration has been restored yet.
func (r *Reconciler) decide(ctx context.Context, svc *corev1.Service) (decision, bool) {
	key := client.ObjectKeyFromObject(svc).String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.restored {
		return decision{}, false
	}
	if !wantsAddress(svc, r.opts.LBClass) {
		return decision{managed: false, freed: r.releaseLocked(key)}, true
	}
	var nsLabels map[string]string
	if needsNamespaceLabels(r.cfg) {
		nsLabels = r.namespaceLabels(ctx, svc.Namespace)
	}
	req, err := requestFor(svc, nsLabels)
	if err != nil {
		// A malformed request keeps whatever the Service holds.
		asg, _ := r.alloc.Get(key)
		return decision{ips: asg.IPs, pool: asg.Pool, err: err, managed: true}, true
	}
	before, held := r.alloc.Get(key)
	asg, err := r.alloc.Allocate(req)
	if err != nil {
		r.metrics.failure(err)
		asg, _ = r.alloc.Get(key)
	}
	freed := held && !slices.Equal(before.IPs, asg.IPs)
	if freed && r.anyReserved(before.IPs) {
		r.signalReserved()
	}
	return decision{ips: asg.IPs, pool: asg.Pool, err: err, managed: true, freed: freed}, true
}

// namespaceLabels reads a namespace's labels from the cache.
func (r *Reconciler) namespaceLabels(ctx context.Context, name string) map[string]string {
	ns := &corev1.Namespace{}
	if err := r.client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "read namespace labels", "namespace", name)
		return nil
	}
	return ns.Labels
}

// release frees a deleted Service's addresses.
func (r *Reconciler) release(key string) {
	r.mu.Lock()
	freed := r.releaseLocked(key)
	r.mu.Unlock()
	if freed {
		r.afterRelease()
	}
}

// releaseLocked frees a Service's addresses; r.mu must be held.
func (r *Reconciler) releaseLocked(key string) bool {
	delete(r.failed, key)
	delete(r.annotNotes, key)
	asg, held := r.alloc.Get(key)
	if !held {
		return false
	}
	r.alloc.Release(key)
	if r.anyReserved(asg.IPs) {
		r.signalReserved()
	}
	return true
}

// anyReserved reports whether one of ips is reserved; r.mu must be held.
func (r *Reconciler) anyReserved(ips []netip.Addr) bool {
	return slices.ContainsFunc(ips, func(ip netip.Addr) bool { _, ok := r.alloc.Reserved(ip); return ok })
}

// afterRelease lets Services that failed for lack of addresses retry.
func (r *Reconciler) afterRelease() {
	r.onChange()
	r.signalResync(resyncFailed)
}

// onChange reports that pool usage changed.
func (r *Reconciler) onChange() {
	if r.opts.OnChange != nil {
		r.opts.OnChange()
	}
}

// isFailed reports whether a Service's last allocation failed.
func (r *Reconciler) isFailed(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.failed[key]
	return ok
}

// Stats returns a pool's usage, for pool status.
func (r *Reconciler) Stats(pool string) (ipam.PoolStats, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg == nil || r.cfg.Pool(pool) == nil {
		return ipam.PoolStats{}, false
	}
	return r.alloc.Stats(pool), true
}

// poolNames lists the configured pools.
func (r *Reconciler) poolNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg == nil {
		return nil
	}
	names := make([]string, 0, len(r.cfg.Pools))
	for _, p := range r.cfg.Pools {
		names = append(names, p.Name)
	}
	return names
}

// restore claims the addresses every Service already shows in its status,
// oldest Service first, so a conflict is settled in favour of the older.
// r.mu must be held.
func (r *Reconciler) restore(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx)
	var list corev1.ServiceList
	if err := r.client.List(ctx, &list); err != nil {
		return fmt.Errorf("list Services: %w", err)
	}
	restored, failed := Restore(r.alloc, r.cfg, list.Items, r.opts.LBClass, func(ns string) map[string]string {
		return r.namespaceLabels(ctx, ns)
	})
	for _, f := range failed {
		log.Info("existing address not restored; the Service will be re-evaluated", "service", f.Key, "ips", f.IPs, "reason", f.Err.Error())
	}
	log.Info("restored existing assignments", "services", restored)
	return nil
}

// ingressIPs parses the addresses in a Service's status.
func ingressIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// recordFailure remembers a failure and reports whether it is new.
func (r *Reconciler) recordFailure(key string, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.failed, key)
		return false
	}
	if r.failed[key] == err.Error() {
		return false
	}
	r.failed[key] = err.Error()
	return true
}
