package ipam

import (
	"fmt"
	"slices"
)

// diagnose explains why no automatic allocation was possible. It runs on
// failure only and costs one step per pool.
func (a *Allocator) diagnose(r *request) error {
	pools := a.ranked
	if r.Pool != "" {
		pools = []*poolState{a.pools[r.Pool]}
	} else {
		pools = slices.DeleteFunc(slices.Clone(pools), func(p *poolState) bool { return !p.admits(r) })
	}
	switch {
	case len(a.pools) == 0:
		return fmt.Errorf("no address pool is configured: %w", ErrNoPool)
	case len(pools) == 0:
		return fmt.Errorf("none of the %d pools auto-assigns and admits the service: %w", len(a.pools), ErrNoPool)
	}
	modes := r.modes()
	var fit []string
	n := 0
	for _, p := range pools {
		if slices.ContainsFunc(modes, func(m []Family) bool { return hasFamilies(p, m) }) {
			if n++; len(fit) < 4 {
				fit = append(fit, p.name)
			}
		}
	}
	switch n {
	case 0:
		return noFamilyPool(r, pools)
	case 1:
		return fmt.Errorf("pool %q has no free %s: %w", fit[0], wantText(r), ErrPoolExhausted)
	}
	return fmt.Errorf("all %d eligible pools %s have no free %s: %w", n, quoteList(fit, n), wantText(r), ErrPoolExhausted)
}

func hasFamilies(p *poolState, fams []Family) bool {
	for _, f := range fams {
		if !p.hasFamily(f) {
			return false
		}
	}
	return true
}

func noFamilyPool(r *request, pools []*poolState) error {
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.name
	}
	if r.FamilyPolicy == RequireDualStack {
		return fmt.Errorf("no eligible pool %s has both IPv4 and IPv6 ranges: %w", quoteList(names, len(names)), ErrDualStackUnavailable)
	}
	return fmt.Errorf("no eligible pool %s has %s ranges: %w", quoteList(names, len(names)), orList(r.fams), ErrNoPool)
}

// wantText names what the request needed.
func wantText(r *request) string {
	switch {
	case len(r.fams) == 1:
		return r.fams[0].String() + " address"
	case r.FamilyPolicy == RequireDualStack:
		return "pair of IPv4 and IPv6 addresses"
	}
	return orList(r.fams) + " address"
}

func orList(fams []Family) string {
	if len(fams) == 2 {
		return fams[0].String() + " or " + fams[1].String()
	}
	return fams[0].String()
}
