package configwatch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/model"
)

// Informers watches the configuration objects of one namespace with its
// own informers and syncs a Watcher after every change that can alter the
// configuration: the speaker's driver (the controller's is package
// crwatch).
type Informers struct {
	namespace string
	log       *slog.Logger
	informers []cache.SharedIndexInformer // in WatchedKinds' order
	kick      chan struct{}               // capacity 1: sync wanted
}

// NewInformers builds (and does not start) informers over the objects of
// WatchedKinds in namespace.
func NewInformers(kc *kube.Client, namespace string, log *slog.Logger) (*Informers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &Informers{namespace: namespace, log: log, kick: make(chan struct{}, 1)}
	for _, kind := range WatchedKinds() {
		inf, err := kc.Informer(kind, kube.InformerOptions{Namespace: namespace})
		if err != nil {
			return nil, err
		}
		_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { in.request() },
			UpdateFunc: func(o, n any) {
				oo, ok1 := o.(kube.Object)
				no, ok2 := n.(kube.Object)
				if !ok1 || !ok2 || Reloads(oo, no) {
					in.request()
				}
			},
			DeleteFunc: func(any) { in.request() },
		})
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", kind, err)
		}
		in.informers = append(in.informers, inf)
	}
	return in, nil
}

// request asks for a sync without blocking.
func (in *Informers) request() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Start runs the informers until ctx ends; it returns at once.
func (in *Informers) Start(ctx context.Context) {
	for _, inf := range in.informers {
		go inf.RunWithContext(ctx)
	}
}

// HasSynced reports whether every informer has listed its objects.
func (in *Informers) HasSynced() bool {
	for _, inf := range in.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Load returns copies of the cached objects, as model.From takes them.
func (in *Informers) Load(context.Context) (model.Objects, error) {
	var o model.Objects
	for i, inf := range in.informers {
		for _, item := range inf.GetStore().List() {
			switch obj := item.(type) {
			case *v1beta1.IPAddressPool:
				o.Pools = append(o.Pools, *obj.DeepCopy())
			case *v1beta1.L2Advertisement:
				o.L2Advertisements = append(o.L2Advertisements, *obj.DeepCopy())
			case *v1beta1.BGPAdvertisement:
				o.BGPAdvertisements = append(o.BGPAdvertisements, *obj.DeepCopy())
			case *v1beta1.BGPPeer:
				o.Peers = append(o.Peers, *obj.DeepCopy())
			case *v1beta1.BFDProfile:
				o.BFDProfiles = append(o.BFDProfiles, *obj.DeepCopy())
			case *v1beta1.Community:
				o.Communities = append(o.Communities, *obj.DeepCopy())
			case *corev1.Secret:
				o.Secrets = append(o.Secrets, *obj.DeepCopy())
			default:
				return o, fmt.Errorf("informer %d of %s holds a %T", i, in.namespace, item)
			}
		}
	}
	return o, nil
}

// syncRetry is how long after a failed sync the next is tried.
const syncRetry = time.Second

// Run syncs w once the informers have synced and after every change until
// ctx ends; a failed sync is retried after syncRetry.
func (in *Informers) Run(ctx context.Context, w *Watcher) error {
	if !cache.WaitForCacheSync(ctx.Done(), in.HasSynced) {
		return nil // ctx ended
	}
	in.request()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.kick:
		}
		if err := w.Sync(ctx); err != nil {
			in.log.Error("configuration sync failed; retrying", "error", err, "retry", syncRetry)
			time.AfterFunc(syncRetry, in.request)
		}
	}
}
