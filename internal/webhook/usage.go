package webhook

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
	"github.com/pylonlb/pylon/internal/model"
)

// maxNamed is how many users a refusal names before "and N more".
const maxNamed = 10

// refuseInUse refuses deleting a pool Services hold addresses of, or a
// BFD profile peers use.
func refuseInUse(in Input) (Verdict, bool) {
	ch := in.Change
	var users []string
	var msg string
	switch ch.Kind {
	case KindPool:
		pool, _ := ch.Object.(*v1beta1.IPAddressPool)
		if pool == nil {
			pool = find(in.Existing.Pools, ch.Name)
		}
		users = ServicesUsingPool(ch.Name, poolRanges(pool), in.Services)
		msg = fmt.Sprintf("%s %q is in use by %s: %s. Delete %s or make %s use another pool first",
			ch.Kind, ch.Name, countNoun(len(users), "Service", "Services"), nameList(users),
			plural(len(users), "it", "them"), plural(len(users), "it", "them"))
	case KindBFD:
		users = PeersUsingProfile(ch.Name, in.Existing.Peers)
		quoted := make([]string, len(users))
		for i, u := range users {
			quoted[i] = strconv.Quote(u)
		}
		msg = fmt.Sprintf("%s %q is in use by %s %s (spec.bfdProfile). Change or delete %s first",
			ch.Kind, ch.Name, plural(len(users), KindPeer, KindPeer+"s"), nameList(quoted), plural(len(users), "that peer", "those peers"))
	}
	if len(users) == 0 {
		return Verdict{}, false
	}
	return Verdict{Reason: InUse, Message: msg}, true
}

// ServicesUsingPool returns "namespace/name" of every Service holding
// addresses of the pool, sorted: those the controller marked as allocated
// from it, and LoadBalancer Services whose status lists an address in
// ranges.
func ServicesUsingPool(pool string, ranges []ipam.Range, svcs []corev1.Service) []string {
	var out []string
	for i := range svcs {
		s := &svcs[i]
		if s.Annotations[v1beta1.AnnotationAllocatedFromPool] == pool || s.Spec.Type == corev1.ServiceTypeLoadBalancer && holds(s, ranges) {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	}
	slices.Sort(out)
	return out
}

// holds reports whether an ingress address of the Service is in ranges.
func holds(s *corev1.Service, ranges []ipam.Range) bool {
	for _, in := range s.Status.LoadBalancer.Ingress {
		a, err := netip.ParseAddr(in.IP)
		if err != nil {
			continue
		}
		a = a.Unmap()
		for _, r := range ranges {
			if r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0 {
				return true
			}
		}
	}
	return false
}

// poolRanges parses the pool's address entries, skipping invalid ones.
func poolRanges(p *v1beta1.IPAddressPool) []ipam.Range {
	if p == nil {
		return nil
	}
	var out []ipam.Range
	for _, s := range p.Spec.Addresses {
		if r, err := model.ParseAddresses(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// PeersUsingProfile returns the sorted names of the peers whose
// spec.bfdProfile names the profile.
func PeersUsingProfile(profile string, peers []v1beta1.BGPPeer) []string {
	var out []string
	for i := range peers {
		if peers[i].Spec.BFDProfile == profile {
			out = append(out, peers[i].Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nameList joins at most maxNamed names, then says how many more.
func nameList(names []string) string {
	if len(names) <= maxNamed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamed], ", "), len(names)-maxNamed)
}

// countNoun renders "1 Service" or "3 Services".
func countNoun(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}
