package ipam

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// poolSpec is a validated Pool with its ranges normalised per family.
type poolSpec struct {
	Pool
	ranges [2][]span
}

// indexEntry is one range of one pool, for finding an address's pool.
type indexEntry struct {
	fam  Family
	span span
	name string
	pool *poolState
}

// compilePools validates pools and returns them with a range index sorted
// by family then address. Pools must have unique, non-empty names and
// ranges that overlap no other pool's; a pool's own ranges may overlap.
func compilePools(pools []Pool) ([]poolSpec, []indexEntry, error) {
	specs := make([]poolSpec, 0, len(pools))
	seen := make(map[string]bool, len(pools))
	var index []indexEntry
	for i := range pools {
		s, err := compilePool(&pools[i])
		if err != nil {
			return nil, nil, err
		}
		if seen[s.Name] {
			return nil, nil, fmt.Errorf("pool %q is defined twice: %w", s.Name, ErrInvalidConfig)
		}
		seen[s.Name] = true
		specs = append(specs, s)
		for f, spans := range s.ranges {
			for _, sp := range spans {
				index = append(index, indexEntry{fam: Family(f), span: sp, name: s.Name})
			}
		}
	}
	slices.SortFunc(index, func(a, b indexEntry) int {
		return cmp.Or(cmp.Compare(a.fam, b.fam), a.span.first.cmp(b.span.first))
	})
	return specs, index, checkOverlaps(index)
}

func compilePool(p *Pool) (poolSpec, error) {
	if p.Name == "" {
		return poolSpec{}, fmt.Errorf("pool without a name: %w", ErrInvalidConfig)
	}
	s := poolSpec{Pool: *p}
	if p.Allocation != nil {
		pol := *p.Allocation
		pol.Namespaces = slices.Clone(pol.Namespaces)
		pol.NamespaceSelectors = slices.Clone(pol.NamespaceSelectors)
		pol.ServiceSelectors = slices.Clone(pol.ServiceSelectors)
		s.Allocation = &pol
	}
	for i, r := range p.Ranges {
		sp, f, err := compileRange(r)
		if err != nil {
			return poolSpec{}, fmt.Errorf("pool %q range %d (%s-%s): %w", p.Name, i, r.First, r.Last, err)
		}
		s.ranges[f] = append(s.ranges[f], sp)
	}
	for f := range s.ranges {
		s.ranges[f] = mergeSpans(s.ranges[f])
	}
	return s, nil
}

func compileRange(r Range) (span, Family, error) {
	first, last := r.First.Unmap(), r.Last.Unmap()
	var why string
	switch {
	case !first.IsValid() || !last.IsValid():
		why = "missing address"
	case first.Zone() != "" || last.Zone() != "":
		why = "addresses with a zone"
	case first.Is4() != last.Is4():
		why = "mixes IPv4 and IPv6"
	case last.Less(first):
		why = "first address after last"
	default:
		return span{toU128(first), toU128(last)}, FamilyOf(first), nil
	}
	return span{}, 0, fmt.Errorf("%s: %w", why, ErrInvalidConfig)
}

// mergeSpans sorts spans and merges those that overlap or touch.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.first.cmp(b.first) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && (out[n-1].last == maxU128 || !out[n-1].last.next().less(sp.first)) {
			if out[n-1].last.less(sp.last) {
				out[n-1].last = sp.last
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

func checkOverlaps(index []indexEntry) error {
	for i := 1; i < len(index); i++ {
		a, b := index[i-1], index[i]
		if a.fam == b.fam && !a.span.last.less(b.span.first) {
			return fmt.Errorf("pools %q and %q overlap at %s: %w",
				a.name, b.name, fromU128(b.span.first, b.fam), ErrInvalidConfig)
		}
	}
	return nil
}

// lookup returns the pool whose ranges contain a (unmapped), or nil.
func lookup(index []indexEntry, a netip.Addr) *poolState {
	f, x := FamilyOf(a), toU128(a)
	i, _ := slices.BinarySearchFunc(index, x, func(e indexEntry, x u128) int {
		if e.fam != f {
			return cmp.Compare(e.fam, f)
		}
		return e.span.first.cmp(x)
	})
	// index[i] is the first entry starting after x (or at it).
	if i < len(index) && index[i].fam == f && index[i].span.first == x {
		return index[i].pool
	}
	if i > 0 && index[i-1].fam == f && index[i-1].span.contains(x) {
		return index[i-1].pool
	}
	return nil
}

// sameAddresses reports whether a pool state can be kept for spec: same
// ranges, same avoidance of buggy addresses.
func (p *poolState) sameAddresses(s *poolSpec) bool {
	return p.avoid == s.AvoidBuggyIPs &&
		slices.Equal(p.fams[IPv4].ranges, s.ranges[IPv4]) &&
		slices.Equal(p.fams[IPv6].ranges, s.ranges[IPv6])
}

// configure copies spec's non-address settings.
func (p *poolState) configure(s *poolSpec) {
	p.autoAssign = s.AutoAssign
	p.policy = s.Allocation
}

func newPoolState(s *poolSpec) *poolState {
	p := &poolState{name: s.Name, avoid: s.AvoidBuggyIPs, fresh: true}
	p.configure(s)
	for f := range p.fams {
		p.fams[f] = famState{fam: Family(f), ranges: s.ranges[f]}
	}
	return p
}
