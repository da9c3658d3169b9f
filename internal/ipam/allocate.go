package ipam

import (
	"fmt"
	"net/netip"
	"slices"
)

// choice is a pool and the addresses picked in it, in the request's family
// order.
type choice struct {
	pool *poolState
	ips  []netip.Addr
}

// Allocate gives the service addresses, keeping what it holds when that
// still fits (see the package doc). It is idempotent: the same request
// twice gives the same result. On error, a previous assignment that is
// still legitimate is kept (Get returns it) and an illegitimate one is
// released; a malformed request changes nothing.
func (a *Allocator) Allocate(req Request) (Assignment, error) {
	r, err := prepare(req)
	if err != nil {
		return Assignment{}, fmt.Errorf("allocate an IP for service %s: %w", req.Key, err)
	}
	if s := a.svcs[r.Key]; s != nil && !a.slowOnly && a.unchanged(r, s) {
		s.ports = slices.Clone(r.Ports)
		return s.assignment(), nil
	}
	old := a.detach(r.Key)
	c, err := a.choose(r, old)
	if err != nil {
		a.restore(r, old)
		return Assignment{}, fmt.Errorf("allocate an IP for service %s: %w", r.Key, err)
	}
	return a.commit(r, c), nil
}

// unchanged reports, without touching any state, that choose would give s
// back as it is: the common case of a controller resync. It accepts only
// the plain case (one pool that admits the service, exactly the wanted
// families, the same sharing keys); anything else takes the full path,
// which reaches the same answer when the assignment is still valid.
func (a *Allocator) unchanged(r *request, s *svc) bool {
	if len(s.ips) != len(r.fams) || s.sharingKey != r.SharingKey || s.backendKey != r.BackendKey {
		return false
	}
	p := a.pools[s.pool]
	if p == nil || (r.Pool != "" && r.Pool != p.name) || !p.admits(r) {
		return false
	}
	for i, ip := range s.ips {
		f := r.fams[i]
		use := a.ips[ip]
		if FamilyOf(ip) != f || (r.asked[f].IsValid() && r.asked[f] != ip) || use.pool != p ||
			!p.fams[f].allocatable(toU128(ip)) || !use.compatibleExcept(s, r) {
			return false
		}
	}
	return true
}

// compatibleExcept reports whether r may share the address with its
// holders other than s.
func (u *ipUse) compatibleExcept(s *svc, r *request) bool {
	for _, h := range u.holders {
		if h != s && !compatible(h, r) {
			return false
		}
	}
	return true
}

// Assign claims exactly ips for the service, typically to restore what its
// status shows when the controller starts. The addresses must be of the
// service's families (one per family), lie in one configured pool that
// admits the service, not be avoided by that pool, and be free or held by
// services the service may share with; a reserved address is restored like
// any other (it is what the service announces). Assign does not check RequestedIPs,
// Pool or the family policy: the next Allocate corrects those, moving as
// little as possible. On error, a previous assignment is handled as by
// Allocate. Restore every service before allocating for new ones, or a new
// service may take an address an existing one still announces.
func (a *Allocator) Assign(req Request, ips []netip.Addr) (Assignment, error) {
	r, err := prepare(req)
	var ordered []netip.Addr
	if err == nil {
		ordered, err = r.order(ips)
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("assign IPs %v to service %s: %w", ips, req.Key, err)
	}
	old := a.detach(r.Key)
	c, err := a.forced(r, ordered)
	if err != nil {
		a.restore(r, old)
		return Assignment{}, fmt.Errorf("assign IPs %v to service %s: %w", ips, r.Key, err)
	}
	return a.commit(r, c), nil
}

// detach takes the service's assignment out of the books for the duration
// of a decision; restore or commit follows.
func (a *Allocator) detach(key string) *svc {
	s := a.svcs[key]
	if s != nil {
		a.unhold(s)
		delete(a.svcs, key)
	}
	return s
}

func (a *Allocator) commit(r *request, c choice) Assignment {
	s := r.newSvc(c.pool.name, c.ips)
	a.hold(s)
	return s.assignment()
}

// restore puts a detached assignment back, under r's sharing parameters,
// when it is still legitimate for r.
func (a *Allocator) restore(r *request, old *svc) {
	if old == nil || !a.legit(old.ips, r) {
		return
	}
	a.hold(r.newSvc(a.poolOf(old.ips[0]).name, old.ips))
}

// legit reports whether the service may hold ips: each in a pool that
// admits it, allocatable there and shareable with its holders.
func (a *Allocator) legit(ips []netip.Addr, r *request) bool {
	for _, ip := range ips {
		p := a.poolOf(ip)
		if p == nil || !p.admits(r) || !a.canHold(p, ip, r, true) {
			return false
		}
	}
	return len(ips) > 0
}

// canHold reports whether r may hold ip of pool p; keep says that r's
// service held it before, which a reservation does not undo. It formats
// nothing: it runs on candidate scans.
func (a *Allocator) canHold(p *poolState, ip netip.Addr, r *request, keep bool) bool {
	if !p.fams[FamilyOf(ip)].allocatable(toU128(ip)) {
		return false
	}
	if _, reserved := a.reserved[ip]; reserved && !keep {
		return false
	}
	if use := a.ips[ip]; use != nil {
		for _, h := range use.holders {
			if !compatible(h, r) {
				return false
			}
		}
	}
	return true
}

// checkIP is canHold with an explanation.
func (a *Allocator) checkIP(p *poolState, ip netip.Addr, r *request, keep bool) error {
	if !p.fams[FamilyOf(ip)].allocatable(toU128(ip)) {
		return fmt.Errorf("IP %s ends in .0 or .255 and pool %q avoids such addresses: %w", ip, p.name, ErrAvoidedIP)
	}
	if err := a.reservedErr(p, ip); err != nil && !keep {
		return err
	}
	if use := a.ips[ip]; use != nil {
		for _, h := range use.holders {
			if why := conflict(h, r); why != "" {
				return fmt.Errorf("IP %s of pool %q is held by service %s, and %s: %w", ip, p.name, h.key, why, ErrIPInUse)
			}
		}
	}
	return nil
}

// order validates addresses given to Assign and sorts them by family.
func (r *request) order(ips []netip.Addr) ([]netip.Addr, error) {
	if len(ips) == 0 {
		return nil, fmt.Errorf("no IP given: %w", ErrInvalidRequest)
	}
	var byFam [2]netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		f := FamilyOf(ip)
		switch {
		case !ip.IsValid() || ip.Zone() != "":
			return nil, fmt.Errorf("IP %q is not a plain address: %w", ip, ErrInvalidRequest)
		case !r.wants(f):
			return nil, fmt.Errorf("IP %s is %s but the service uses %s: %w", ip, f, famList(r.fams), ErrWrongFamily)
		case byFam[f].IsValid():
			return nil, fmt.Errorf("IPs %s and %s are both %s; at most one per family: %w", byFam[f], ip, f, ErrInvalidRequest)
		}
		byFam[f] = ip
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, f := range r.fams {
		if byFam[f].IsValid() {
			out = append(out, byFam[f])
		}
	}
	return out, nil
}

func (r *request) wants(f Family) bool { return f == r.fams[0] || (len(r.fams) == 2 && f == r.fams[1]) }

// forced validates the addresses given to Assign.
func (a *Allocator) forced(r *request, ips []netip.Addr) (choice, error) {
	p, err := a.poolOfAll(ips, "IP")
	if err != nil {
		return choice{}, err
	}
	if why := p.refusal(r); why != "" {
		return choice{}, fmt.Errorf("pool %q of IP %s refuses the service: %s: %w", p.name, ips[0], why, ErrPoolNotAllowed)
	}
	for _, ip := range ips {
		if err := a.checkIP(p, ip, r, true); err != nil {
			return choice{}, err
		}
	}
	return choice{pool: p, ips: ips}, nil
}

// poolOfAll returns the one pool holding every address.
func (a *Allocator) poolOfAll(ips []netip.Addr, what string) (*poolState, error) {
	var p *poolState
	for i, ip := range ips {
		q := a.poolOf(ip)
		switch {
		case q == nil:
			return nil, fmt.Errorf("%s %s is not in any pool: %w", what, ip, ErrNotInAnyPool)
		case p != nil && q != p:
			return nil, fmt.Errorf("%ss %s and %s are in pools %q and %q; they must share one pool: %w",
				what, ips[i-1], ip, p.name, q.name, ErrMixedPools)
		}
		p = q
	}
	return p, nil
}
