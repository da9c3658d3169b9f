package allocation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// apply writes a decision to the Service: status first (the source of truth
// on restart), then the pool annotation, then events.
func (r *Reconciler) apply(ctx context.Context, svc *corev1.Service, d decision) error {
	key := client.ObjectKeyFromObject(svc).String()
	switch {
	case d.freed:
		defer r.afterRelease()
	case changedIPs(svc, d.ips):
		defer r.onChange()
	}
	if !d.managed {
		return r.clearLeftovers(ctx, svc)
	}
	oldIPs := ingressIPs(svc)
	if err := r.write(ctx, svc, d.ips, d.pool); err != nil {
		return err
	}
	r.noteAnnotations(svc)
	r.emitEvents(svc, oldIPs, d)
	if d.err == nil {
		r.recordFailure(key, nil)
	}
	return nil
}

// emitEvents reports allocation changes and new failures on the Service.
func (r *Reconciler) emitEvents(svc *corev1.Service, oldIPs []netip.Addr, d decision) {
	key := client.ObjectKeyFromObject(svc).String()
	if d.err != nil && r.recordFailure(key, d.err) {
		note := d.err.Error()
		if len(d.ips) > 0 {
			note += fmt.Sprintf("; keeping %s", joinIPs(d.ips))
		}
		r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonAllocationFailed, "Allocate", "%s", note)
	}
	switch {
	case slices.Equal(oldIPs, d.ips):
	case len(d.ips) == 0:
		r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonIPReleased, "Release", "Released %s", joinIPs(oldIPs))
	default:
		r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonIPAllocated, "Allocate", "Assigned %s from pool %q", joinIPs(d.ips), d.pool)
		r.metrics.allocated(d.pool)
	}
}

// changedIPs reports whether the decision changes the Service's addresses.
func changedIPs(svc *corev1.Service, ips []netip.Addr) bool {
	return !slices.Equal(ingressIPs(svc), ips)
}

// write sets status.loadBalancer.ingress and the allocated-from-pool
// annotation in one patch of the status subresource, which for Services
// also applies metadata changes: one API write per allocation. Should a
// server ignore the metadata part, the annotation is written separately.
func (r *Reconciler) write(ctx context.Context, svc *corev1.Service, ips []netip.Addr, pool string) error {
	patch := map[string]any{}
	want := ingressFor(ips)
	if !ingressEqual(svc.Status.LoadBalancer.Ingress, want) {
		patch["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": want}}
	}
	if annot := poolAnnotationPatch(svc, pool); annot != nil {
		patch["metadata"] = annot
	}
	if len(patch) == 0 {
		return nil
	}
	target := svc.DeepCopy()
	if err := r.mergePatch(ctx, target, patch, true); err != nil {
		return fmt.Errorf("write status of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	if annot := poolAnnotationPatch(target, pool); annot != nil {
		if err := r.mergePatch(ctx, target, map[string]any{"metadata": annot}, false); err != nil {
			return fmt.Errorf("annotate Service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	return nil
}

// poolAnnotationPatch returns the metadata patch that sets (or, for "",
// removes) the allocated-from-pool annotation, or nil when it is right.
func poolAnnotationPatch(svc *corev1.Service, pool string) map[string]any {
	cur, has := svc.Annotations[v1beta1.AnnotationAllocatedFromPool]
	if cur == pool && (has || pool == "") {
		return nil
	}
	var val any = pool
	if pool == "" {
		val = nil // JSON merge patch: null removes the key
	}
	return map[string]any{"annotations": map[string]any{v1beta1.AnnotationAllocatedFromPool: val}}
}

// clearLeftovers removes what Pylon wrote on a Service it no longer
// serves (it stopped being a LoadBalancer, or changed class).
func (r *Reconciler) clearLeftovers(ctx context.Context, svc *corev1.Service) error {
	if _, ours := svc.Annotations[v1beta1.AnnotationAllocatedFromPool]; !ours {
		return nil
	}
	if !svc.DeletionTimestamp.IsZero() {
		return nil
	}
	return r.write(ctx, svc, nil, "")
}

// mergePatch sends a JSON merge patch to the Service or its status; svc
// is updated with the server's answer.
func (r *Reconciler) mergePatch(ctx context.Context, svc *corev1.Service, patch map[string]any, status bool) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	p := client.RawPatch(types.MergePatchType, data)
	if status {
		return r.client.Status().Patch(ctx, svc, p)
	}
	return r.client.Patch(ctx, svc, p)
}

// ingressFor builds the ingress list for the addresses.
func ingressFor(ips []netip.Addr) []corev1.LoadBalancerIngress {
	out := make([]corev1.LoadBalancerIngress, 0, len(ips))
	vip := corev1.LoadBalancerIPModeVIP
	for _, ip := range ips {
		out = append(out, corev1.LoadBalancerIngress{IP: ip.String(), IPMode: &vip})
	}
	return out
}

// ingressEqual compares ingress lists by address and mode.
func ingressEqual(a, b []corev1.LoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y corev1.LoadBalancerIngress) bool {
		return x.IP == y.IP && x.Hostname == y.Hostname && len(x.Ports) == 0 && len(y.Ports) == 0 &&
			(x.IPMode == nil) == (y.IPMode == nil) && (x.IPMode == nil || *x.IPMode == *y.IPMode)
	})
}

// joinIPs renders addresses for messages.
func joinIPs(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ",")
}
