package speaker

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// l2Track lets the L2 sync recompute only what a change touches. Election
// is per group of linked addresses (a dual-stack Service's addresses, an
// address shared by Services), so the owners of a Service's group depend
// only on the Services of that group, the members, the Nodes and the
// configuration. A change to some Services recomputes the groups they
// belong to, before and after the change; anything else recomputes all.
type l2Track struct {
	ipIndex map[netip.Addr]map[types.NamespacedName]bool // address -> Services using it
	dirty   map[types.NamespacedName][]netip.Addr        // changed Services -> addresses before the change
	full    bool                                         // everything must be recomputed
	planned bool                                         // a full plan was computed once
	members string                                       // signature of the members at the last plan
	ann     map[netip.Addr]plan.L2Announcement
}

// newL2Track returns an empty tracker that asks for a full plan.
func newL2Track() l2Track {
	return l2Track{ipIndex: map[netip.Addr]map[types.NamespacedName]bool{}, dirty: map[types.NamespacedName][]netip.Addr{},
		ann: map[netip.Addr]plan.L2Announcement{}}
}

// serviceChanged records that a Service's addresses went from old to new.
func (t *l2Track) serviceChanged(key types.NamespacedName, old, new []netip.Addr) {
	if _, seen := t.dirty[key]; !seen {
		t.dirty[key] = old
	}
	for _, ip := range old {
		delete(t.ipIndex[ip], key)
		if len(t.ipIndex[ip]) == 0 {
			delete(t.ipIndex, ip)
		}
	}
	for _, ip := range new {
		if t.ipIndex[ip] == nil {
			t.ipIndex[ip] = map[types.NamespacedName]bool{}
		}
		t.ipIndex[ip][key] = true
	}
}

// scope returns the Services whose groups must be recomputed and every
// address of those groups, before and after the changes; all Services
// when everything must be.
func (t *l2Track) scope(services map[types.NamespacedName]plan.Service, members []plan.Member) (keys []types.NamespacedName, ips map[netip.Addr]bool, full bool) {
	sig := membersSignature(members)
	full = t.full || !t.planned || sig != t.members
	t.members = sig
	ips = map[netip.Addr]bool{}
	if full {
		for ip := range t.ann {
			ips[ip] = true
		}
		for _, s := range services {
			for _, ip := range s.IPs {
				ips[ip] = true
			}
		}
		return slices.SortedFunc(maps.Keys(services), plan.CompareKeys), ips, true
	}
	seen := map[types.NamespacedName]bool{}
	queue := slices.SortedFunc(maps.Keys(t.dirty), plan.CompareKeys)
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, ip := range slices.Concat(t.dirty[key], services[key].IPs) {
			ips[ip] = true
			for other := range t.ipIndex[ip] {
				if !seen[other] {
					queue = append(queue, other)
				}
			}
		}
	}
	return slices.SortedFunc(maps.Keys(seen), plan.CompareKeys), ips, false
}

// apply replaces the announcements of the recomputed addresses with the
// plan's, and returns their previous owners.
func (t *l2Track) apply(scopeIPs map[netip.Addr]bool, p plan.L2Plan) map[netip.Addr]string {
	prev := make(map[netip.Addr]string, len(scopeIPs))
	for ip := range scopeIPs {
		prev[ip] = t.ann[ip].Node
		delete(t.ann, ip)
	}
	for _, ann := range p.Announcements {
		t.ann[ann.IP] = ann
	}
	return prev
}

// done clears the changes after a plan.
func (t *l2Track) done() {
	clear(t.dirty)
	t.full, t.planned = false, true
}

// membersSignature identifies the members as the plan sees them.
func membersSignature(members []plan.Member) string {
	var sb strings.Builder
	for _, m := range members {
		sb.WriteString(m.Name)
		if m.Draining {
			sb.WriteString("!")
		}
		sb.WriteString(":")
		sb.WriteString(strings.Join(m.Interfaces, ","))
		if m.AddrsKnown {
			sb.WriteString("=")
			for _, a := range m.Addrs {
				fmt.Fprintf(&sb, "%s/%t/%t%v,", a.Name, a.IPv4, a.IPv6, a.Prefixes)
			}
		}
		sb.WriteString(";")
	}
	return sb.String()
}
