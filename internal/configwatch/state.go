package configwatch

import (
	"reflect"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/internal/kube"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// StatusWriter writes objects in the background (statusq.Queue satisfies
// it). Put must not block.
type StatusWriter interface {
	Put(obj kube.Object, minInterval time.Duration)
}

// Condition types of ConfigurationState.
const (
	ConditionValid  = "Valid"
	ConditionLoaded = "Loaded"
)

// publishState writes the component's ConfigurationState after a load or
// a rejection. Caller holds w.mu.
func (w *Watcher) publishState() {
	if w.opts.Status == nil || w.opts.StateName == "" {
		return
	}
	now := metav1.NewTime(w.opts.Clock.Now())
	valid := metav1.Condition{Type: ConditionValid, Status: metav1.ConditionTrue, Reason: "Accepted",
		Message: "the newest configuration objects are valid and in force"}
	if !w.status.Valid {
		valid.Status, valid.Reason = metav1.ConditionFalse, ReasonInvalidConfiguration
		valid.Message = "rejected; the last valid configuration stays in force: " + w.status.Error
		if len(valid.Message) > 32000 {
			valid.Message = valid.Message[:32000]
		}
	}
	loaded := metav1.Condition{Type: ConditionLoaded, Status: metav1.ConditionTrue, Reason: "Loaded",
		Message: "a valid configuration is in force"}
	if !w.status.Loaded {
		loaded.Status, loaded.Reason, loaded.Message = metav1.ConditionFalse, "NeverLoaded", "no valid configuration has been loaded yet"
	}
	for _, c := range []metav1.Condition{valid, loaded} {
		c.LastTransitionTime = now
		meta.SetStatusCondition(&w.conditions, c)
	}
	obj := &v1beta1.ConfigurationState{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ConfigurationState"},
		ObjectMeta: metav1.ObjectMeta{Name: w.opts.StateName, Namespace: w.opts.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "pylon"}},
		Status: v1beta1.ConfigurationStateStatus{Component: w.opts.Component, Node: w.opts.StateNode,
			Conditions: append([]metav1.Condition(nil), w.conditions...), Error: w.status.Error},
	}
	if !w.lastLoad.IsZero() {
		t := metav1.NewTime(w.lastLoad)
		obj.Status.LastLoaded = &t
	}
	obj.Status.Interfaces = slices.Clone(w.interfaces)
	w.opts.Status.Put(obj, 0)
}

// SetInterfaces publishes a speaker's usable interfaces in its
// ConfigurationState (so tools outside the gossip, such as kubectl pylon,
// see what the L2 election sees). It is safe for concurrent use and does
// not block.
func (w *Watcher) SetInterfaces(ifaces []v1beta1.SpeakerInterface) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if reflect.DeepEqual(ifaces, w.interfaces) {
		return
	}
	w.interfaces = slices.Clone(ifaces)
	if len(w.conditions) > 0 { // else the first load or rejection publishes
		w.publishState()
	}
}

// SetConditions adds or updates conditions of the component's
// ConfigurationState besides Valid and Loaded, for other parts of the
// component to report through it (one writer per object), and publishes
// the state when one of them changed. It is safe for concurrent use and
// does not block.
func (w *Watcher) SetConditions(cs ...metav1.Condition) {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := false
	for _, c := range cs {
		old := meta.FindStatusCondition(w.conditions, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			continue
		}
		c.LastTransitionTime = metav1.NewTime(w.opts.Clock.Now())
		meta.SetStatusCondition(&w.conditions, c)
		changed = true
	}
	if changed {
		w.publishState()
	}
}
