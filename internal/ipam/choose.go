package ipam

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// choose decides what the service gets, without changing any state. old is
// the service's detached previous assignment, or nil.
func (a *Allocator) choose(r *request, old *svc) (choice, error) {
	if r.Pool != "" {
		p := a.pools[r.Pool]
		if p == nil {
			return choice{}, fmt.Errorf("pool %q is not configured: %w", r.Pool, ErrUnknownPool)
		}
		if why := p.refusal(r); why != "" {
			return choice{}, fmt.Errorf("pool %q refuses the service: %s: %w", p.name, why, ErrPoolNotAllowed)
		}
	}
	if r.hasAsked() {
		return a.fromRequested(r, old)
	}
	if c, ok := a.fromHint(r, old); ok {
		return c, nil
	}
	for _, mode := range r.modes() {
		if c, ok := a.fromShared(r, mode); ok {
			return c, nil
		}
		if c, ok := a.fromFresh(r, mode); ok {
			return c, nil
		}
	}
	return choice{}, a.diagnose(r)
}

// eligible reports whether an automatic allocation may use p.
func (a *Allocator) eligible(p *poolState, r *request) bool {
	if r.Pool != "" {
		return p.name == r.Pool
	}
	return p.autoAssign && p.admits(r)
}

// pickIn picks an address of family f in p: one of hint's if it may be
// kept, else one shared under r's sharing key, else the lowest free one.
// kept reports that the address came from hint.
func (a *Allocator) pickIn(p *poolState, f Family, r *request, hint *svc) (ip netip.Addr, kept, ok bool) {
	if hint != nil {
		for _, h := range hint.ips {
			if FamilyOf(h) == f && a.poolOf(h) == p && a.canHold(p, h, r, true) {
				return h, true, true
			}
		}
	}
	if ip, ok := a.sharedIn(p, f, r); ok {
		return ip, false, true
	}
	x, ok := p.fams[f].lowest()
	return fromU128(x, f), false, ok
}

// sharedIn returns the lowest address of family f in p that r may share.
// It costs one step per address held under r's sharing and backend keys.
func (a *Allocator) sharedIn(p *poolState, f Family, r *request) (netip.Addr, bool) {
	if r.SharingKey == "" {
		return netip.Addr{}, false
	}
	var best netip.Addr
	for ip := range a.shared[shareKey(r.SharingKey, r.BackendKey)] {
		if FamilyOf(ip) == f && a.ips[ip].pool == p && (!best.IsValid() || ip.Less(best)) && a.canHold(p, ip, r, false) {
			best = ip
		}
	}
	return best, best.IsValid()
}

// fromHint keeps the previous assignment's pool and as many of its
// addresses as still fit. It succeeds only if at least one address is
// kept: otherwise the service is allocated like a new one.
func (a *Allocator) fromHint(r *request, old *svc) (choice, bool) {
	p := a.hintPool(r, old)
	if p == nil {
		return choice{}, false
	}
	c, kept := choice{pool: p}, false
	for _, f := range r.fams {
		ip, k, ok := a.pickIn(p, f, r, old)
		if !ok {
			if r.FamilyPolicy != PreferDualStack {
				return choice{}, false
			}
			continue
		}
		c.ips = append(c.ips, ip)
		kept = kept || k
	}
	return c, kept
}

// hintPool returns the pool of the first previous address that is in a
// pool admitting the service (and the requested pool, if any).
func (a *Allocator) hintPool(r *request, old *svc) *poolState {
	if old == nil {
		return nil
	}
	for _, ip := range old.ips {
		if p := a.poolOf(ip); p != nil && (r.Pool == "" || r.Pool == p.name) && p.admits(r) {
			return p
		}
	}
	return nil
}

// fromShared looks for an eligible pool holding an address r may share
// and completes the mode's families there. Pools go in try order.
func (a *Allocator) fromShared(r *request, mode []Family) (choice, bool) {
	if r.SharingKey == "" {
		return choice{}, false
	}
	var pools []*poolState
	for ip := range a.shared[shareKey(r.SharingKey, r.BackendKey)] {
		p := a.ips[ip].pool
		if p == nil || slices.Contains(pools, p) || !slices.Contains(mode, FamilyOf(ip)) ||
			!a.eligible(p, r) || !a.canHold(p, ip, r, false) {
			continue
		}
		pools = append(pools, p)
	}
	slices.SortFunc(pools, func(x, y *poolState) int { return cmp.Compare(x.rank, y.rank) })
	for _, p := range pools {
		c := choice{pool: p}
		for _, f := range mode {
			if ip, _, ok := a.pickIn(p, f, r, nil); ok {
				c.ips = append(c.ips, ip)
			}
		}
		if len(c.ips) == len(mode) {
			return c, true
		}
	}
	return choice{}, false
}

// fromFresh takes the lowest free addresses of the first eligible pool
// with room for every family of mode. Full pools are skipped by the
// bitset, a word of 64 pools at a time.
func (a *Allocator) fromFresh(r *request, mode []Family) (choice, bool) {
	if r.Pool != "" {
		return freshIn(a.pools[r.Pool], mode)
	}
	first := a.nonFull[mode[0]]
	var second bitset
	if len(mode) == 2 {
		second = a.nonFull[mode[1]]
	}
	for i := nextBoth(first, second, 0); i >= 0; i = nextBoth(first, second, i+1) {
		if p := a.ranked[i]; p.admits(r) {
			return freshIn(p, mode)
		}
	}
	return choice{}, false
}

func freshIn(p *poolState, mode []Family) (choice, bool) {
	c := choice{pool: p, ips: make([]netip.Addr, 0, len(mode))}
	for _, f := range mode {
		x, ok := p.fams[f].lowest()
		if !ok {
			return choice{}, false
		}
		c.ips = append(c.ips, fromU128(x, f))
	}
	return c, true
}

// fromRequested builds the assignment around the requested addresses; a
// missing family comes from the same pool (required for
// RequireDualStack, when available for PreferDualStack).
func (a *Allocator) fromRequested(r *request, old *svc) (choice, error) {
	var asked []netip.Addr
	for _, f := range r.fams {
		if ip := r.asked[f]; ip.IsValid() {
			asked = append(asked, ip)
		}
	}
	p, err := a.poolOfAll(asked, "requested IP")
	if err != nil {
		return choice{}, err
	}
	if r.Pool != "" && p.name != r.Pool {
		return choice{}, fmt.Errorf("requested IP %s is in pool %q, not in the requested pool %q: %w", asked[0], p.name, r.Pool, ErrPoolMismatch)
	}
	if why := p.refusal(r); why != "" {
		return choice{}, fmt.Errorf("requested IP %s is in pool %q, which refuses the service: %s: %w", asked[0], p.name, why, ErrPoolNotAllowed)
	}
	c := choice{pool: p}
	for _, f := range r.fams {
		ip, ok := r.asked[f], true
		if ip.IsValid() {
			if err := a.checkIP(p, ip, r, old != nil && slices.Contains(old.ips, ip)); err != nil {
				return choice{}, fmt.Errorf("requested %w", err)
			}
		} else if ip, _, ok = a.pickIn(p, f, r, old); !ok && r.FamilyPolicy == RequireDualStack {
			return choice{}, missingFamily(p, f)
		}
		if ok {
			c.ips = append(c.ips, ip)
		}
	}
	return c, nil
}

func missingFamily(p *poolState, f Family) error {
	if !p.hasFamily(f) {
		return fmt.Errorf("pool %q of the requested IP has no %s range: %w", p.name, f, ErrDualStackUnavailable)
	}
	return fmt.Errorf("pool %q of the requested IP has no free %s address: %w", p.name, f, ErrPoolExhausted)
}
