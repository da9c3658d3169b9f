package model

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
)

const kindPool = "IPAddressPool"

// ownedRange is a pool range with where it came from, for overlap reports.
type ownedRange struct {
	ipam.Range
	pool  string
	entry string // the user's text
	index int
}

// convertPools validates pools one by one, then checks that no two address
// entries overlap anywhere.
func convertPools(c *collector, in []v1beta1.IPAddressPool) []*Pool {
	in = sortedByName(in, func(p *v1beta1.IPAddressPool) string { return p.Name })
	var out []*Pool
	var all []ownedRange
	seen := map[string]bool{}
	for i := range in {
		p := &in[i]
		if seen[p.Name] {
			c.add(kindPool, p.Name, "metadata.name", "duplicate pool name")
			continue
		}
		seen[p.Name] = true
		pool, ranges := convertPool(c, p)
		out = append(out, pool)
		all = append(all, ranges...)
	}
	checkOverlaps(c, all)
	return out
}

// convertPool validates one pool and returns it with its owned ranges.
func convertPool(c *collector, p *v1beta1.IPAddressPool) (*Pool, []ownedRange) {
	pool := &Pool{
		Name:          p.Name,
		Labels:        maps.Clone(p.Labels),
		AutoAssign:    p.Spec.AutoAssign == nil || *p.Spec.AutoAssign,
		AvoidBuggyIPs: p.Spec.AvoidBuggyIPs,
	}
	if len(p.Spec.Addresses) == 0 {
		c.add(kindPool, p.Name, "spec.addresses", "at least one CIDR or range is required")
	}
	var owned []ownedRange
	for i, s := range p.Spec.Addresses {
		r, err := ParseAddresses(s)
		if err != nil {
			c.add(kindPool, p.Name, fmt.Sprintf("spec.addresses[%d]", i), "%v", err)
			continue
		}
		pool.Ranges = append(pool.Ranges, r)
		owned = append(owned, ownedRange{Range: r, pool: p.Name, entry: s, index: i})
	}
	slices.SortFunc(pool.Ranges, func(a, b ipam.Range) int { return a.First.Compare(b.First) })
	if sa := p.Spec.ServiceAllocation; sa != nil {
		pool.Allocation = convertAllocation(c, p.Name, sa)
	}
	return pool, owned
}

// convertAllocation validates a pool's serviceAllocation.
func convertAllocation(c *collector, pool string, sa *v1beta1.ServiceAllocation) *Allocation {
	const f = "spec.serviceAllocation"
	if sa.Priority < 0 {
		c.add(kindPool, pool, f+".priority", "must be 0 or more, got %d", sa.Priority)
	}
	for i, ns := range sa.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			c.add(kindPool, pool, fmt.Sprintf("%s.namespaces[%d]", f, i), "%q is not a namespace name: %s", ns, errs[0])
		}
	}
	namespaces := slices.Clone(sa.Namespaces)
	slices.Sort(namespaces)
	return &Allocation{
		Priority:           sa.Priority,
		Namespaces:         slices.Compact(namespaces),
		NamespaceSelectors: compileSelectors(c, kindPool, pool, f+".namespaceSelectors", sa.NamespaceSelectors),
		ServiceSelectors:   compileSelectors(c, kindPool, pool, f+".serviceSelectors", sa.ServiceSelectors),
	}
}

// checkOverlaps reports every address entry that overlaps an entry sorted
// before it (by first address, then pool name, then position).
func checkOverlaps(c *collector, all []ownedRange) {
	slices.SortFunc(all, func(a, b ownedRange) int {
		return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.pool, b.pool), cmp.Compare(a.index, b.index))
	})
	var reach *ownedRange // the range reaching furthest so far, per family
	var reach6 *ownedRange
	for i := range all {
		r := &all[i]
		prev := &reach
		if r.First.Is6() {
			prev = &reach6
		}
		if *prev != nil && r.First.Compare((*prev).Last) <= 0 {
			c.add(kindPool, r.pool, fmt.Sprintf("spec.addresses[%d]", r.index),
				"%s overlaps %s of %s %q", r.entry, (*prev).entry, kindPool, (*prev).pool)
		}
		if *prev == nil || r.Last.Compare((*prev).Last) > 0 {
			*prev = r
		}
	}
}
