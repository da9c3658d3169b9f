package allocation

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/annotations"
	"github.com/pylonlb/pylon/internal/cachetrim"
)

// TrimService is the controller cache's transform for Services: it keeps
// what allocation and the validating webhook read — identity, labels,
// Pylon's annotations and MetalLB's aliases of them, the spec fields that decide the request, the ports
// (and, for externalTrafficPolicy Local, the selector) for sharing and the
// load-balancer status — and drops the rest, which
// for a Service applied by kubectl includes a full copy of it in an
// annotation. The controller writes Services only with merge patches, so
// a trimmed copy never overwrites what it lacks.
func TrimService(obj any) (any, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	out := &corev1.Service{TypeMeta: s.TypeMeta, ObjectMeta: cachetrim.Meta(s.ObjectMeta, v1beta1.AnnotationPrefix, annotations.MetalLBPrefix, annotations.MetalLBLegacyPrefix)}
	out.Spec = corev1.ServiceSpec{
		Type: s.Spec.Type, ClusterIP: s.Spec.ClusterIP, LoadBalancerClass: s.Spec.LoadBalancerClass,
		LoadBalancerIP: s.Spec.LoadBalancerIP, IPFamilies: s.Spec.IPFamilies, IPFamilyPolicy: s.Spec.IPFamilyPolicy,
		ExternalTrafficPolicy: s.Spec.ExternalTrafficPolicy,
	}
	if s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		out.Spec.Selector = s.Spec.Selector // only Local Services' sharing depends on it
	}
	if len(s.Spec.Ports) > 0 {
		out.Spec.Ports = make([]corev1.ServicePort, len(s.Spec.Ports))
		for i, p := range s.Spec.Ports {
			out.Spec.Ports[i] = corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}
		}
	}
	out.Status.LoadBalancer = s.Status.LoadBalancer
	return out, nil
}
