// Package configwatch keeps a component's view of Pylon's configuration:
// it watches the configuration objects in the install namespace, converts
// them with model.From and hands each new valid configuration to the
// component. An invalid configuration never takes effect: the last good one
// stays in force, and the problem is reported as a Warning event on each
// offending object, a log line and a metric.
//
// The controller and the speaker both use it: the controller drives it from
// its controller-runtime manager (package crwatch), the speaker from its own
// informers (Informers), so that the speaker links no controller-runtime.
package configwatch

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/pace"
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
	Recorder pace.EventRecorder
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

// Source lists every configuration object of the install namespace.
type Source func(ctx context.Context) (model.Objects, error)

// Watcher turns the configuration objects into the configuration in force.
// Sync is its only entry: call it after any of the objects changed.
type Watcher struct {
	opts    Options
	source  Source
	metrics *metrics

	mu         sync.Mutex
	lastHash   uint64 // hash of the inputs of the configuration in force
	status     Status
	lastLoad   time.Time
	conditions []metav1.Condition
	interfaces []v1beta1.SpeakerInterface // a speaker's, for its state
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

// New builds a watcher that reads objects from source. It starts nothing.
func New(source Source, opts Options) (*Watcher, error) {
	if source == nil || opts.Namespace == "" || opts.OnConfig == nil || opts.Recorder == nil {
		return nil, fmt.Errorf("configwatch: a source, Namespace, OnConfig and Recorder are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Watcher{opts: opts, source: source, metrics: newMetrics(opts.Registerer, opts.Component)}, nil
}

// Sync loads the objects, converts them and applies or reports the
// result. It fails only when the objects cannot be read; the caller
// retries.
func (w *Watcher) Sync(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx)
	objs, err := w.source(ctx)
	if err != nil {
		return fmt.Errorf("load configuration objects from %q: %w", w.opts.Namespace, err)
	}
	h := inputHash(objs)
	w.mu.Lock()
	unchanged := w.status.Loaded && w.status.Valid && h == w.lastHash
	w.mu.Unlock()
	if unchanged {
		return nil
	}
	cfg, convErr := model.From(objs)
	if convErr != nil {
		w.reject(ctx, objs, convErr)
		return nil
	}
	w.opts.OnConfig(ctx, cfg)
	w.mu.Lock()
	w.lastHash, w.status, w.lastLoad = h, Status{Loaded: true, Valid: true}, w.opts.Clock.Now()
	w.publishState()
	w.mu.Unlock()
	w.metrics.loaded(w.opts.Clock.Now())
	log.Info("configuration loaded", "pools", len(cfg.Pools), "peers", len(cfg.Peers),
		"l2Advertisements", len(cfg.L2Advertisements), "bgpAdvertisements", len(cfg.BGPAdvertisements))
	return nil
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
func version(o kube.Object) string {
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
	obj  kube.Object
}

// objectsOf lists every input object with its kind.
func objectsOf(o model.Objects) []kindObject {
	var out []kindObject
	add := func(kind string, obj kube.Object) { out = append(out, kindObject{kind, obj}) }
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

// WatchedKinds lists the kinds a configuration is built from: Pylon's
// configuration kinds and Secrets (BGP passwords).
func WatchedKinds() []kube.Object {
	return []kube.Object{
		&v1beta1.IPAddressPool{}, &v1beta1.L2Advertisement{}, &v1beta1.BGPAdvertisement{},
		&v1beta1.BGPPeer{}, &v1beta1.BFDProfile{}, &v1beta1.Community{}, &corev1.Secret{},
	}
}

// Reloads says whether a change of an object from old to new can change
// the configuration: any change of a Secret, a change of spec (generation)
// or labels of Pylon's objects; status writes (pool counters) cannot.
func Reloads(old, new kube.Object) bool {
	if _, secret := new.(*corev1.Secret); secret {
		return true
	}
	return old.GetGeneration() != new.GetGeneration() || !maps.Equal(old.GetLabels(), new.GetLabels())
}
