package plan

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// The conversions from Kubernetes objects to the plans' inputs. The
// speaker and the kubectl plugin both use them, so the plugin's answers
// start from the same view of a Service and a Node as the speakers'.

// Why a node is excluded from announcing (Node.ExcludedBy).
const (
	ExcludedByLabel              = "label " + v1beta1.LabelExcludeFromLB
	ExcludedByNetworkUnavailable = "condition NetworkUnavailable"
)

// Announceable reports whether a Service is one the speakers announce: a
// LoadBalancer of the served class with ingress addresses.
func Announceable(svc *corev1.Service, lbClass string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) == 0 {
		return false
	}
	class := ""
	if svc.Spec.LoadBalancerClass != nil {
		class = *svc.Spec.LoadBalancerClass
	}
	return class == lbClass
}

// ServiceFrom converts a Service and its EndpointSlices into the plan's
// view. Endpoints count as ready unless their ready condition is false
// (the API's rule for an unset condition).
func ServiceFrom(svc *corev1.Service, slices_ []*discoveryv1.EndpointSlice) Service {
	s := Service{
		Key:    types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name},
		Labels: svc.Labels,
		Local:  svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			s.IPs = append(s.IPs, a.Unmap())
		}
	}
	perFamily := map[discoveryv1.AddressType]map[string]int{}
	for i := range slices_ {
		for _, ep := range slices_[i].Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			s.AnyReady = true
			if ep.NodeName == nil || *ep.NodeName == "" {
				continue
			}
			s.ReadyNodes = append(s.ReadyNodes, *ep.NodeName)
			fam := slices_[i].AddressType
			if perFamily[fam] == nil {
				perFamily[fam] = map[string]int{}
			}
			perFamily[fam][*ep.NodeName]++
		}
	}
	slices.Sort(s.ReadyNodes)
	s.ReadyNodes = slices.Compact(s.ReadyNodes)
	s.ReadyCount = readyCount(perFamily)
	return s
}

// readyCount is, per node, the most ready endpoints of any address family:
// a dual-stack pod is listed once in each family's slices.
func readyCount(perFamily map[discoveryv1.AddressType]map[string]int) map[string]int {
	var out map[string]int
	for _, counts := range perFamily {
		for node, n := range counts {
			if out == nil {
				out = map[string]int{}
			}
			out[node] = max(out[node], n)
		}
	}
	return out
}

// NodeFrom converts a Node into the plan's view.
func NodeFrom(n *corev1.Node) Node {
	by := ""
	if _, ok := n.Labels[v1beta1.LabelExcludeFromLB]; ok {
		by = ExcludedByLabel
	}
	for _, c := range n.Status.Conditions {
		if by == "" && c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue {
			by = ExcludedByNetworkUnavailable
		}
	}
	return Node{Name: n.Name, Labels: n.Labels, Excluded: by != "", ExcludedBy: by, Cordoned: n.Spec.Unschedulable}
}
