// Package configwatch keeps a component's view of Pylon's configuration:
// it watches the configuration objects in the install namespace, converts
// them with model.From and hands each new valid configuration to the
// component. An invalid configuration never takes effect: the last good one
// stays in force, and the problem is reported as a Warning event on each
// offending object, a log line and a metric.
//
// The controller and the speaker both use it.
package configwatch

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

// Event reasons this package emits.
const (
	ReasonInvalidConfiguration = "InvalidConfiguration"
)

// Options configures a Watcher.
type Options struct {
	// Namespace is Pylon's install namespace; only objects there count.
	Namespace string
	// Component names the component in logs and metrics ("controller",
	// "speaker").
	Component string
	// OnConfig receives every new valid configuration. It is called from
	// the watcher's reconcile goroutine, one call at a time, and must not
	// block for long.
	OnConfig func(ctx context.Context, cfg *model.Config)
	// OnError, optional, receives every rejected configuration's error.
	OnError func(ctx context.Context, err error)
	// Recorder emits events on offending objects.
	Recorder events.EventRecorder
	// Registerer receives the watcher's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Clock stamps load times; nil means the real clock.
	Clock clock.PassiveClock
	// Status, StateName and StateNode, when set, publish the component's
	// ConfigurationState object named StateName in Namespace.
	Status    StatusWriter
	StateName string
	StateNode string
}

// Watcher is a reconciler over all configuration objects with a single key.
type Watcher struct {
	opts    Options
	reader  client.Reader
	metrics *metrics

	mu         sync.Mutex
	lastHash   uint64 // hash of the inputs of the configuration in force
	status     Status
	lastLoad   time.Time
	conditions []metav1.Condition
}

// Status is what the watcher last did, for status reporting.
type Status struct {
	// Loaded is true once a valid configuration has been applied.
	Loaded bool
	// Valid is false while the newest objects are rejected (the last good
	// configuration, if any, stays in force).
	Valid bool
	// Error is the rejection's text while Valid is false.
	Error string
}

// New builds a watcher that reads objects through reader (normally the
// manager's cache). It starts nothing; SetupWithManager registers it.
func New(reader client.Reader, opts Options) (*Watcher, error) {
	if opts.Namespace == "" || opts.OnConfig == nil || opts.Recorder == nil {
		return nil, fmt.Errorf("configwatch: Namespace, OnConfig and Recorder are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Watcher{opts: opts, reader: reader, metrics: newMetrics(opts.Registerer, opts.Component)}, nil
}

// key is the only request this reconciler handles.
var key = reconcile.Request{NamespacedName: types.NamespacedName{Name: "pylon-configuration"}}

// SetupWithManager watches every configuration kind and the Secrets of the
// install namespace; any change enqueues the single key.
func (w *Watcher) SetupWithManager(mgr ctrl.Manager) error {
	toKey := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if o.GetNamespace() != w.opts.Namespace {
			return nil
		}
		return []reconcile.Request{key}
	})
	b := ctrl.NewControllerManagedBy(mgr).Named("configwatch-" + w.opts.Component)
	for _, obj := range watchedKinds() {
		if _, secret := obj.(*corev1.Secret); secret {
			b = b.Watches(obj, toKey)
			continue
		}
		// Status writes (pool counters) change neither generation nor
		// labels: they must not reload the configuration.
		b = b.Watches(obj, toKey, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{})))
	}
	return b.Complete(w)
}

// watchedKinds lists the kinds a configuration is built from.
func watchedKinds() []client.Object {
	return []client.Object{
		&v1beta1.IPAddressPool{}, &v1beta1.L2Advertisement{}, &v1beta1.BGPAdvertisement{},
		&v1beta1.BGPPeer{}, &v1beta1.BFDProfile{}, &v1beta1.Community{}, &corev1.Secret{},
	}
}

// Reconcile loads the objects, converts them and applies or reports the
// result.
func (w *Watcher) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	log := logr.FromContextOrDiscard(ctx)
	objs, err := w.load(ctx)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("load configuration objects from %q: %w", w.opts.Namespace, err)
	}
	h := inputHash(objs)
	w.mu.Lock()
	unchanged := w.status.Loaded && w.status.Valid && h == w.lastHash
	w.mu.Unlock()
	if unchanged {
		return reconcile.Result{}, nil
	}
	cfg, convErr := model.From(objs)
	if convErr != nil {
		w.reject(ctx, objs, convErr)
		return reconcile.Result{}, nil
	}
	w.opts.OnConfig(ctx, cfg)
	w.mu.Lock()
	w.lastHash, w.status, w.lastLoad = h, Status{Loaded: true, Valid: true}, w.opts.Clock.Now()
	w.publishState()
	w.mu.Unlock()
	w.metrics.loaded(w.opts.Clock.Now())
	log.Info("configuration loaded", "pools", len(cfg.Pools), "peers", len(cfg.Peers),
		"l2Advertisements", len(cfg.L2Advertisements), "bgpAdvertisements", len(cfg.BGPAdvertisements))
	return reconcile.Result{}, nil
}

// Status returns what the watcher last did.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// reject reports an invalid configuration and keeps the last good one.
func (w *Watcher) reject(ctx context.Context, objs model.Objects, err error) {
	log := logr.FromContextOrDiscard(ctx)
	w.mu.Lock()
	w.status.Valid, w.status.Error = false, err.Error()
	w.publishState()
	w.mu.Unlock()
	w.metrics.rejected()
	log.Error(err, "configuration rejected; the last valid configuration stays in force")
	if errs, ok := err.(model.Errors); ok {
		for _, fe := range errs {
			if obj := findObject(objs, fe.Kind, fe.Name); obj != nil {
				w.opts.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonInvalidConfiguration, "Validate",
					"%s; the last valid configuration stays in force", fe.Error())
			}
		}
	}
	if w.opts.OnError != nil {
		w.opts.OnError(ctx, err)
	}
}

// load lists every configuration object of the namespace.
func (w *Watcher) load(ctx context.Context) (model.Objects, error) {
	return Load(ctx, w.reader, w.opts.Namespace)
}

// Load lists every configuration object of a namespace, Secrets included,
// as model.From takes them.
func Load(ctx context.Context, r client.Reader, namespace string) (model.Objects, error) {
	var o model.Objects
	var (
		pools   v1beta1.IPAddressPoolList
		l2      v1beta1.L2AdvertisementList
		bgp     v1beta1.BGPAdvertisementList
		peers   v1beta1.BGPPeerList
		bfd     v1beta1.BFDProfileList
		comms   v1beta1.CommunityList
		secrets corev1.SecretList
	)
	for _, l := range []client.ObjectList{&pools, &l2, &bgp, &peers, &bfd, &comms, &secrets} {
		if err := r.List(ctx, l, client.InNamespace(namespace)); err != nil {
			return o, fmt.Errorf("list %T in %s: %w", l, namespace, err)
		}
	}
	o.Pools, o.L2Advertisements, o.BGPAdvertisements = pools.Items, l2.Items, bgp.Items
	o.Peers, o.BFDProfiles, o.Communities, o.Secrets = peers.Items, bfd.Items, comms.Items, secrets.Items
	return o, nil
}

// inputHash identifies a set of objects by their names and resource
// versions, so an unchanged set is not converted again.
func inputHash(o model.Objects) uint64 {
	var ids []string
	for _, ko := range objectsOf(o) {
		ids = append(ids, ko.kind+"/"+ko.obj.GetName()+"@"+version(ko.obj))
	}
	slices.Sort(ids)
	h := fnv.New64a()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// version identifies what of an object the configuration depends on: a
// Secret's content (its resource version), a Pylon object's spec (its
// generation) and labels (pool selectors), but not its status.
func version(o client.Object) string {
	if _, secret := o.(*corev1.Secret); secret {
		return o.GetResourceVersion()
	}
	labels := make([]string, 0, len(o.GetLabels()))
	for k, v := range o.GetLabels() {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return fmt.Sprintf("%d/%s", o.GetGeneration(), strings.Join(labels, ","))
}

// findObject returns the object of that kind and name, for events.
func findObject(o model.Objects, kind, name string) runtime.Object {
	for _, ko := range objectsOf(o) {
		if ko.kind == kind && ko.obj.GetName() == name {
			return ko.obj
		}
	}
	return nil
}

// kindObject is one input object with its kind.
type kindObject struct {
	kind string
	obj  client.Object
}

// objectsOf lists every input object with its kind.
func objectsOf(o model.Objects) []kindObject {
	var out []kindObject
	add := func(kind string, obj client.Object) { out = append(out, kindObject{kind, obj}) }
	for i := range o.Pools {
		add("IPAddressPool", &o.Pools[i])
	}
	for i := range o.L2Advertisements {
		add("L2Advertisement", &o.L2Advertisements[i])
	}
	for i := range o.BGPAdvertisements {
		add("BGPAdvertisement", &o.BGPAdvertisements[i])
	}
	for i := range o.Peers {
		add("BGPPeer", &o.Peers[i])
	}
	for i := range o.BFDProfiles {
		add("BFDProfile", &o.BFDProfiles[i])
	}
	for i := range o.Communities {
		add("Community", &o.Communities[i])
	}
	for i := range o.Secrets {
		add("Secret", &o.Secrets[i])
	}
	return out
}

// CacheByObject restricts a manager's cache to the install namespace for
// every kind the watcher reads.
func CacheByObject(namespace string) map[client.Object]cache.ByObject {
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	out := map[client.Object]cache.ByObject{}
	for _, o := range watchedKinds() {
		out[o] = inNS
	}
	return out
}
