package speaker

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// announceable reports whether a Service is one the speaker announces: a
// LoadBalancer of the served class with ingress addresses.
func announceable(svc *corev1.Service, lbClass string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) == 0 {
		return false
	}
	class := ""
	if svc.Spec.LoadBalancerClass != nil {
		class = *svc.Spec.LoadBalancerClass
	}
	return class == lbClass
}

// serviceFrom converts a Service and its EndpointSlices into the plan's
// view. Endpoints count as ready unless their ready condition is false
// (the API's rule for an unset condition).
func serviceFrom(svc *corev1.Service, slices_ []*discoveryv1.EndpointSlice) plan.Service {
	s := plan.Service{
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

// nodeFrom converts a Node into the plan's view.
func nodeFrom(n *corev1.Node) plan.Node {
	_, excluded := n.Labels[v1beta1.LabelExcludeFromLB]
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue {
			excluded = true
		}
	}
	return plan.Node{Name: n.Name, Labels: n.Labels, Excluded: excluded, Cordoned: n.Spec.Unschedulable}
}

// nodeAddresses returns a Node's internal addresses (IPv4 first).
func nodeAddresses(n *corev1.Node) (v4, v6 netip.Addr) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() && !v4.IsValid() {
			v4 = ip
		}
		if ip.Is6() && !v6.IsValid() {
			v6 = ip
		}
	}
	return v4, v6
}
