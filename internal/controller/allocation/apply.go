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
	key := svc.Namespace + "/" + svc.Name
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
	if err := r.writeStatus(ctx, svc, d.ips); err != nil {
		return err
	}
	if err := r.writePoolAnnotation(ctx, svc, d.pool); err != nil {
		return err
	}
	r.emitEvents(svc, oldIPs, d)
	if d.err == nil {
		r.recordFailure(key, nil)
	}
	return nil
}

// emitEvents reports allocation changes and new failures on the Service.
func (r *Reconciler) emitEvents(svc *corev1.Service, oldIPs []netip.Addr, d decision) {
	key := svc.Namespace + "/" + svc.Name
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

// writeStatus sets status.loadBalancer.ingress when it differs.
func (r *Reconciler) writeStatus(ctx context.Context, svc *corev1.Service, ips []netip.Addr) error {
	want := ingressFor(ips)
	if ingressEqual(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	patch := map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": want}}}
	if err := r.mergePatch(ctx, svc, patch, true); err != nil {
		return fmt.Errorf("write status of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// writePoolAnnotation sets or removes the allocated-from-pool annotation.
func (r *Reconciler) writePoolAnnotation(ctx context.Context, svc *corev1.Service, pool string) error {
	cur, has := svc.Annotations[v1beta1.AnnotationAllocatedFromPool]
	if cur == pool && (has || pool == "") {
		return nil
	}
	var val any = pool
	if pool == "" {
		val = nil // JSON merge patch: null removes the key
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1beta1.AnnotationAllocatedFromPool: val}}}
	if err := r.mergePatch(ctx, svc, patch, false); err != nil {
		return fmt.Errorf("annotate Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// clearLeftovers removes what Pylon wrote on a Service it no longer
// serves (it stopped being a LoadBalancer, or changed class).
func (r *Reconciler) clearLeftovers(ctx context.Context, svc *corev1.Service) error {
	if _, ours := svc.Annotations[v1beta1.AnnotationAllocatedFromPool]; !ours {
		return nil
	}
	if svc.DeletionTimestamp.IsZero() {
		if err := r.writeStatus(ctx, svc, nil); err != nil {
			return err
		}
	}
	return r.writePoolAnnotation(ctx, svc, "")
}

// mergePatch sends a JSON merge patch to the Service or its status.
func (r *Reconciler) mergePatch(ctx context.Context, svc *corev1.Service, patch map[string]any, status bool) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	p := client.RawPatch(types.MergePatchType, data)
	target := svc.DeepCopy()
	if status {
		return r.client.Status().Patch(ctx, target, p)
	}
	return r.client.Patch(ctx, target, p)
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
