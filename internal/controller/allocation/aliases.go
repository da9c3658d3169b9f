package allocation

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/annotations"
)

// Event reasons about the annotations a Service uses.
const (
	ReasonMetalLBAnnotation      = "MetalLBAnnotation"
	ReasonConflictingAnnotations = "ConflictingAnnotations"
)

// noteAnnotations emits, once per Service and content, a Normal event when
// the Service uses MetalLB's annotations (naming the pylonlb.io/
// equivalents) and a Warning event when its annotations disagree (naming
// the one that wins).
func (r *Reconciler) noteAnnotations(svc *corev1.Service) {
	res := annotations.Resolve(svc.Annotations)
	alias, conflict := res.AliasMessage(), res.ConflictMessage()
	key := client.ObjectKeyFromObject(svc).String()
	r.mu.Lock()
	prev := r.annotNotes[key]
	now := [2]string{alias, conflict}
	if now == [2]string{} {
		delete(r.annotNotes, key)
	} else {
		r.annotNotes[key] = now
	}
	r.mu.Unlock()
	if alias != "" && alias != prev[0] {
		r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonMetalLBAnnotation, "Allocate", "%s", alias)
	}
	if conflict != "" && conflict != prev[1] {
		r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonConflictingAnnotations, "Allocate", "%s", conflict)
	}
}
