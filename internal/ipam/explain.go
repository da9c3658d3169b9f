package ipam

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// PoolVerdict says whether one pool could give a service its addresses
// now, and if not, why.
type PoolVerdict struct {
	// Pool is the pool's name.
	Pool string
	// Serves is true when the pool could give the service addresses now.
	Serves bool
	// IPs are the addresses the pool would give, when it serves.
	IPs []netip.Addr
	// Why says, when the pool does not serve, why not in plain words.
	Why string
	// Err wraps a sentinel error (ErrPoolExhausted, ErrIPInUse, ...) for
	// callers that branch; nil when the pool serves.
	Err error
}

// Explain tells, for every configured pool in name order, whether it could
// serve the request and why not. Each pool is judged by the allocator's
// own decision (the choice Allocate makes when the request names that
// pool) after the checks that keep a pool out of an automatic allocation
// (another pool named, requested addresses elsewhere, autoAssign off).
// What the service holds counts as a hint, as for Allocate. Explain
// changes nothing.
func (a *Allocator) Explain(req Request) ([]PoolVerdict, error) {
	r, err := prepare(req)
	if err != nil {
		return nil, fmt.Errorf("explain the allocation of service %s: %w", req.Key, err)
	}
	old := a.detach(r.Key)
	defer func() {
		if old != nil {
			a.hold(old)
		}
	}()
	var out []PoolVerdict
	for _, name := range slices.Sorted(maps.Keys(a.pools)) {
		out = append(out, a.explainPool(a.pools[name], r, old))
	}
	return out, nil
}

// explainPool judges one pool for r.
func (a *Allocator) explainPool(p *poolState, r *request, old *svc) PoolVerdict {
	v := PoolVerdict{Pool: p.name}
	if why, err := outOfReach(p, r, a); err != nil {
		v.Why, v.Err = why, err
		return v
	}
	only := *r
	only.Pool = p.name
	c, err := a.choose(&only, old)
	if err != nil {
		v.Err = err
		v.Why = err.Error()
		if hint := a.sharingConflicts(p, r); hint != "" && errors.Is(err, ErrPoolExhausted) {
			v.Why += "; " + hint
		}
		return v
	}
	v.Serves, v.IPs = true, c.ips
	return v
}

// outOfReach explains why an allocation for r never looks at p, or returns
// nil.
func outOfReach(p *poolState, r *request, a *Allocator) (string, error) {
	switch {
	case r.Pool != "" && r.Pool != p.name:
		return fmt.Sprintf("the service asks for pool %q", r.Pool), ErrPoolMismatch
	case r.hasAsked():
		for _, f := range r.fams {
			if ip := r.asked[f]; ip.IsValid() && a.poolOf(ip) != p {
				return fmt.Sprintf("the requested address %s is not in this pool", ip), ErrPoolMismatch
			}
		}
	case r.Pool == "" && !p.autoAssign:
		return "autoAssign is off and the service names neither this pool nor one of its addresses", ErrNoPool
	}
	return "", nil
}

// sharingConflicts names, for a service with a sharing key, the addresses
// of p held under that key that it may not share, and why: the holder and
// the conflicting ports or backends.
func (a *Allocator) sharingConflicts(p *poolState, r *request) string {
	if r.SharingKey == "" {
		return ""
	}
	var ips []netip.Addr
	for ip, use := range a.ips {
		if use.pool == p && slices.ContainsFunc(use.holders, func(h *svc) bool { return h.sharingKey == r.SharingKey }) {
			ips = append(ips, ip)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	for _, ip := range ips {
		for _, h := range a.ips[ip].holders {
			if why := conflict(h, r); why != "" {
				return fmt.Sprintf("address %s, held by service %s under the same sharing key, cannot be shared: %s", ip, h.key, why)
			}
		}
	}
	return ""
}

// Try returns what Allocate would answer for the request, with the same
// error, and changes nothing.
func (a *Allocator) Try(req Request) (Assignment, error) {
	r, err := prepare(req)
	if err != nil {
		return Assignment{}, fmt.Errorf("allocate an IP for service %s: %w", req.Key, err)
	}
	old := a.detach(r.Key)
	defer func() {
		if old != nil {
			a.hold(old)
		}
	}()
	c, err := a.choose(r, old)
	if err != nil {
		return Assignment{}, fmt.Errorf("allocate an IP for service %s: %w", r.Key, err)
	}
	return Assignment{Pool: c.pool.name, IPs: slices.Clone(c.ips)}, nil
}
