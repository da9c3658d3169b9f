// Package crwatch drives a configwatch.Watcher from a controller-runtime
// manager: the controller's way of watching the configuration (the speaker
// uses configwatch.Informers and links no controller-runtime).
package crwatch

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/configwatch"
	"github.com/pylonlb/pylon/internal/model"
)

// key is the only request the reconciler handles.
var key = reconcile.Request{NamespacedName: types.NamespacedName{Name: "pylon-configuration"}}

// Setup watches every configuration kind and the Secrets of namespace with
// mgr; any change that can alter the configuration enqueues the single key,
// whose reconciliation is w.Sync.
func Setup(mgr ctrl.Manager, w *configwatch.Watcher, namespace, component string) error {
	toKey := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if o.GetNamespace() != namespace {
			return nil
		}
		return []reconcile.Request{key}
	})
	reloads := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return configwatch.Reloads(e.ObjectOld, e.ObjectNew)
	}}
	b := ctrl.NewControllerManagedBy(mgr).Named("configwatch-" + component)
	for _, obj := range configwatch.WatchedKinds() {
		b = b.Watches(obj.(client.Object), toKey, builder.WithPredicates(reloads))
	}
	err := b.Complete(reconcile.Func(func(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, w.Sync(ctx)
	}))
	if err != nil {
		return fmt.Errorf("set up configuration watcher: %w", err)
	}
	return nil
}

// Source reads the configuration objects of namespace through r (normally
// the manager's cache).
func Source(r client.Reader, namespace string) configwatch.Source {
	return func(ctx context.Context) (model.Objects, error) { return Load(ctx, r, namespace) }
}

// Load lists every configuration object of a namespace, Secrets included,
// as model.From takes them.
func Load(ctx context.Context, r client.Reader, namespace string) (model.Objects, error) {
	o, err := LoadConfig(ctx, r, namespace)
	if err != nil {
		return o, err
	}
	var secrets corev1.SecretList
	if err := r.List(ctx, &secrets, client.InNamespace(namespace)); err != nil {
		return o, fmt.Errorf("list %T in %s: %w", &secrets, namespace, err)
	}
	o.Secrets = secrets.Items
	return o, nil
}

// LoadConfig lists the configuration objects of a namespace, without
// Secrets (for readers that fetch only the Secrets BGPPeers name).
func LoadConfig(ctx context.Context, r client.Reader, namespace string) (model.Objects, error) {
	var o model.Objects
	var (
		pools v1beta1.IPAddressPoolList
		l2    v1beta1.L2AdvertisementList
		bgp   v1beta1.BGPAdvertisementList
		peers v1beta1.BGPPeerList
		bfd   v1beta1.BFDProfileList
		comms v1beta1.CommunityList
	)
	for _, l := range []client.ObjectList{&pools, &l2, &bgp, &peers, &bfd, &comms} {
		if err := r.List(ctx, l, client.InNamespace(namespace)); err != nil {
			return o, fmt.Errorf("list %T in %s: %w", l, namespace, err)
		}
	}
	o.Pools, o.L2Advertisements, o.BGPAdvertisements = pools.Items, l2.Items, bgp.Items
	o.Peers, o.BFDProfiles, o.Communities = peers.Items, bfd.Items, comms.Items
	return o, nil
}

// CacheByObject restricts a manager's cache to the install namespace for
// every kind the watcher reads.
func CacheByObject(namespace string) map[client.Object]cache.ByObject {
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	out := map[client.Object]cache.ByObject{}
	for _, o := range configwatch.WatchedKinds() {
		out[o.(client.Object)] = inNS
	}
	return out
}
