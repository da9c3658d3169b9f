package allocation

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/annotations"
	"github.com/pylonlb/pylon/internal/ipam"
	"github.com/pylonlb/pylon/internal/model"
)

// ErrBadServiceInput marks problems with what a Service asks for, as
// opposed to problems of the pools.
var ErrBadServiceInput = errors.New("invalid Service input")

// wantsAddress reports whether Pylon should give the Service an address:
// it is a LoadBalancer of our class with a cluster IP.
func wantsAddress(svc *corev1.Service, lbClass string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || !svc.DeletionTimestamp.IsZero() {
		return false
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return false
	}
	class := ""
	if svc.Spec.LoadBalancerClass != nil {
		class = *svc.Spec.LoadBalancerClass
	}
	return class == lbClass
}

// requestFor turns a Service (and its namespace's labels) into an
// allocation request. Errors wrap ErrBadServiceInput and name the field.
// The annotations are read through annotations.Resolve, so MetalLB's
// aliases count too.
func requestFor(svc *corev1.Service, nsLabels map[string]string) (ipam.Request, error) {
	annots := annotations.Resolve(svc.Annotations)
	pool, _ := annots.Value(annotations.AddressPool)
	sharingKey, _ := annots.Value(annotations.AllowSharedIP)
	req := ipam.Request{
		Key:             client.ObjectKeyFromObject(svc).String(),
		Families:        families(svc),
		FamilyPolicy:    familyPolicy(svc),
		Pool:            pool,
		SharingKey:      sharingKey,
		Ports:           ports(svc),
		BackendKey:      backendKey(svc),
		Namespace:       svc.Namespace,
		NamespaceLabels: nsLabels,
		Labels:          svc.Labels,
	}
	ips, err := requestedIPs(svc, annots.Get(annotations.LoadBalancerIPs))
	if err != nil {
		return req, err
	}
	req.RequestedIPs = ips
	return req, nil
}

// families maps spec.ipFamilies; an empty list means IPv4, as the API
// server defaults it.
func families(svc *corev1.Service) []ipam.Family {
	var out []ipam.Family
	for _, f := range svc.Spec.IPFamilies {
		if f == corev1.IPv6Protocol {
			out = append(out, ipam.IPv6)
		} else {
			out = append(out, ipam.IPv4)
		}
	}
	if len(out) == 0 {
		out = []ipam.Family{ipam.IPv4}
	}
	return out
}

// familyPolicy maps spec.ipFamilyPolicy.
func familyPolicy(svc *corev1.Service) ipam.FamilyPolicy {
	if svc.Spec.IPFamilyPolicy == nil {
		return ipam.SingleStack
	}
	switch *svc.Spec.IPFamilyPolicy {
	case corev1.IPFamilyPolicyPreferDualStack:
		return ipam.PreferDualStack
	case corev1.IPFamilyPolicyRequireDualStack:
		return ipam.RequireDualStack
	}
	return ipam.SingleStack
}

// ports lists the Service's (protocol, port) pairs.
func ports(svc *corev1.Service) []ipam.Port {
	out := make([]ipam.Port, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		out = append(out, ipam.Port{Protocol: proto, Port: p.Port})
	}
	return out
}

// backendKey identifies where the Service's traffic goes. Services with
// externalTrafficPolicy Local can share an address only with Services that
// select the same pods, since the address is announced from the nodes
// that host them.
func backendKey(svc *corev1.Service) string {
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		return ""
	}
	return "local:" + labels.SelectorFromSet(svc.Spec.Selector).String()
}

// requestedIPs reads spec.loadBalancerIP or the loadBalancerIPs
// annotation (or its alias; not both), at most one per family.
func requestedIPs(svc *corev1.Service, set annotations.Setting) ([]netip.Addr, error) {
	annot, hasAnnot := set.Value, set.Set
	spec := svc.Spec.LoadBalancerIP
	var field string
	var items []string
	switch {
	case hasAnnot && spec != "":
		return nil, fmt.Errorf("%w: set either spec.loadBalancerIP or annotation %s, not both", ErrBadServiceInput, set.From)
	case hasAnnot:
		field, items = "annotation "+set.From, strings.Split(annot, ",")
	case spec != "":
		field, items = "spec.loadBalancerIP", []string{spec}
	default:
		return nil, nil
	}
	var out []netip.Addr
	for _, s := range items {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%w: %s: %q is not an IP address", ErrBadServiceInput, field, strings.TrimSpace(s))
		}
		a = a.Unmap()
		if slices.ContainsFunc(out, func(b netip.Addr) bool { return b.Is4() == a.Is4() }) {
			return nil, fmt.Errorf("%w: %s: at most one address per family, got %q", ErrBadServiceInput, field, annotOrSpec(annot, spec))
		}
		out = append(out, a)
	}
	return out, nil
}

// annotOrSpec returns whichever request text is set.
func annotOrSpec(annot, spec string) string {
	if annot != "" {
		return annot
	}
	return spec
}

// ipamPools adapts the model's pools to the allocator's.
func ipamPools(cfg *model.Config) []ipam.Pool {
	out := make([]ipam.Pool, 0, len(cfg.Pools))
	for _, p := range cfg.Pools {
		ip := ipam.Pool{Name: p.Name, Ranges: p.Ranges, AutoAssign: p.AutoAssign, AvoidBuggyIPs: p.AvoidBuggyIPs}
		if a := p.Allocation; a != nil {
			ip.Allocation = &ipam.Policy{
				Priority:           a.Priority,
				Namespaces:         a.Namespaces,
				NamespaceSelectors: selectors(a.NamespaceSelectors),
				ServiceSelectors:   selectors(a.ServiceSelectors),
			}
		}
		out = append(out, ip)
	}
	return out
}

// selectors converts model selectors to the allocator's interface.
func selectors(in model.Selectors) []ipam.Selector {
	out := make([]ipam.Selector, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// needsNamespaceLabels reports whether any pool selects by namespace labels.
func needsNamespaceLabels(cfg *model.Config) bool {
	return slices.ContainsFunc(cfg.Pools, func(p *model.Pool) bool {
		return p.Allocation != nil && len(p.Allocation.NamespaceSelectors) > 0
	})
}
