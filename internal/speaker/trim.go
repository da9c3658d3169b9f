package speaker

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/pylonlb/pylon/internal/cachetrim"
)

// The trims below keep in the speaker's informers only what it reads of
// Services, EndpointSlices and Nodes (cache.TransformFunc).

// trimService keeps identity, labels, the fields that decide whether and
// how the Service is announced, and its load-balancer status.
func trimService(obj any) (any, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	out := &corev1.Service{TypeMeta: s.TypeMeta, ObjectMeta: cachetrim.Meta(s.ObjectMeta, "")}
	out.Spec.Type = s.Spec.Type
	out.Spec.LoadBalancerClass = s.Spec.LoadBalancerClass
	out.Spec.ExternalTrafficPolicy = s.Spec.ExternalTrafficPolicy
	out.Status.LoadBalancer = s.Status.LoadBalancer
	return out, nil
}

// trimEndpointSlice keeps, per endpoint, only its node and conditions.
func trimEndpointSlice(obj any) (any, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	out := &discoveryv1.EndpointSlice{TypeMeta: es.TypeMeta, ObjectMeta: cachetrim.Meta(es.ObjectMeta, ""), AddressType: es.AddressType}
	out.Endpoints = make([]discoveryv1.Endpoint, len(es.Endpoints))
	for i, ep := range es.Endpoints {
		out.Endpoints[i] = discoveryv1.Endpoint{NodeName: ep.NodeName, Conditions: ep.Conditions}
	}
	return out, nil
}

// trimNode keeps identity, labels, the internal addresses, whether the
// node is cordoned and whether its network is unavailable; not the image list, capacity, or the
// other conditions and their heartbeat times, which make a Node many
// kilobytes on a real cluster.
func trimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: cachetrim.Meta(n.ObjectMeta, "")}
	out.Spec.Unschedulable = n.Spec.Unschedulable
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			out.Status.Addresses = append(out.Status.Addresses, a)
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeNetworkUnavailable {
			out.Status.Conditions = append(out.Status.Conditions, corev1.NodeCondition{Type: c.Type, Status: c.Status})
		}
	}
	return out, nil
}
