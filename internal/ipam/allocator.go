package ipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Allocator hands out addresses from pools and remembers who holds what.
// The zero value is not usable; call New. It is not safe for concurrent
// use: the controller serialises calls behind its own mutex.
type Allocator struct {
	pools   map[string]*poolState
	index   []indexEntry // every pool range, by family then address
	ranked  []*poolState // auto-assign pools in try order
	nonFull [2]bitset    // by rank: pools with a free address of the family
	ips     map[netip.Addr]*ipUse
	svcs    map[string]*svc
	shared  map[string]map[netip.Addr]struct{} // shareKey → held addresses
	// reserved maps every reserved address (in a pool or not) to why.
	reserved map[netip.Addr]string

	slowOnly bool // tests: skip the unchanged fast path, to compare both
}

// svc is a service's assignment with the request parameters that sharing
// depends on.
type svc struct {
	key        string
	pool       string
	ips        []netip.Addr
	sharingKey string
	backendKey string
	ports      []Port
}

// ipUse is a held address: its pool (nil for an orphan) and its holders,
// sorted by key. Holders are pairwise compatible.
type ipUse struct {
	pool    *poolState
	holders []*svc
}

// New returns an allocator with no pools.
func New() *Allocator {
	return &Allocator{
		pools:  map[string]*poolState{},
		ips:    map[netip.Addr]*ipUse{},
		svcs:   map[string]*svc{},
		shared: map[string]map[netip.Addr]struct{}{},

		reserved: map[netip.Addr]string{},
	}
}

// SetPools replaces the configuration. Every assignment is kept; addresses
// outside every new pool become orphans until their service's next
// Allocate. An assignment whose first address changed pool (a pool
// renamed, a range moved) reports the new pool's name. Pools whose ranges and AvoidBuggyIPs are unchanged keep their
// state, so a change of priority, selectors or AutoAssign costs
// O(pools log pools). On error nothing changes.
func (a *Allocator) SetPools(pools []Pool) error {
	specs, index, err := compilePools(pools)
	if err != nil {
		return fmt.Errorf("set pools: %w", err)
	}
	next := make(map[string]*poolState, len(specs))
	moved := len(specs) != len(a.pools)
	for i := range specs {
		s := &specs[i]
		if p := a.pools[s.Name]; p != nil && p.sameAddresses(s) {
			p.configure(s)
			next[s.Name] = p
			continue
		}
		next[s.Name] = newPoolState(s)
		moved = true
	}
	for i := range index {
		index[i].pool = next[index[i].name]
	}
	a.pools, a.index = next, index
	if moved {
		a.rehome()
	}
	a.rank()
	return nil
}

// rehome recomputes every held address's pool, renames assignments after
// the pool that now holds their first address, and builds the free sets of
// the pools SetPools created, without their held and reserved addresses.
// Orphans keep their last pool name.
func (a *Allocator) rehome() {
	for ip := range a.reserved {
		if p := lookup(a.index, ip); p != nil && p.fresh && a.ips[ip] == nil {
			f := FamilyOf(ip)
			p.resv[f] = append(p.resv[f], toU128(ip))
		}
	}
	for ip, use := range a.ips {
		p := lookup(a.index, ip)
		use.pool = p
		if p == nil {
			continue
		}
		if p.fresh {
			f := FamilyOf(ip)
			p.held[f] = append(p.held[f], toU128(ip))
		}
		for _, h := range use.holders {
			if h.ips[0] == ip {
				h.pool = p.name
			}
		}
	}
	for _, p := range a.pools {
		if !p.fresh {
			continue
		}
		for f := range p.fams {
			sortU128(p.held[f])
			sortU128(p.resv[f])
			p.fams[f] = newFamState(Family(f), p.avoid, p.fams[f].ranges, p.held[f], p.resv[f])
			p.held[f], p.resv[f] = nil, nil
		}
		p.fresh = false
	}
}

// sortU128 sorts addresses, as plain integers when they share their high
// half (all IPv4 addresses, or IPv6 ones within a /64).
func sortU128(xs []u128) {
	if len(xs) == 0 {
		return
	}
	for _, x := range xs {
		if x.hi != xs[0].hi {
			slices.SortFunc(xs, u128.cmp)
			return
		}
	}
	lo := make([]uint64, len(xs))
	for i, x := range xs {
		lo[i] = x.lo
	}
	slices.Sort(lo)
	for i := range xs {
		xs[i].lo = lo[i]
	}
}

// rank orders the auto-assign pools and rebuilds the non-full bitsets.
func (a *Allocator) rank() {
	a.ranked = a.ranked[:0]
	for _, p := range a.pools {
		p.rank = -1
		if p.autoAssign {
			a.ranked = append(a.ranked, p)
		}
	}
	slices.SortFunc(a.ranked, comparePools)
	for f := range a.nonFull {
		a.nonFull[f] = newBitset(len(a.ranked))
	}
	for i, p := range a.ranked {
		p.rank = i
		for f := range a.nonFull {
			a.nonFull[f].set(i, !p.fams[f].free.empty())
		}
	}
}

// Release frees what the service holds. An address shared with other
// services stays held until its last holder leaves. Unknown keys are
// ignored.
func (a *Allocator) Release(key string) {
	if s := a.svcs[key]; s != nil {
		a.unhold(s)
		delete(a.svcs, key)
	}
}

// Get returns what the service holds, orphaned addresses included.
func (a *Allocator) Get(key string) (Assignment, bool) {
	s := a.svcs[key]
	if s == nil {
		return Assignment{}, false
	}
	return s.assignment(), true
}

// Stats counts a configured pool's addresses; orphans are not counted.
// Unknown pools have zero stats.
func (a *Allocator) Stats(pool string) PoolStats {
	p := a.pools[pool]
	if p == nil {
		return PoolStats{}
	}
	v4, v6 := &p.fams[IPv4], &p.fams[IPv6]
	return PoolStats{
		AssignedIPv4: v4.used, AssignedIPv6: v6.used,
		AvailableIPv4: v4.available(), AvailableIPv6: v6.available(),
	}
}

// PoolFor returns the configured pool whose ranges contain ip.
func (a *Allocator) PoolFor(ip netip.Addr) (string, bool) {
	if p := a.poolOf(ip.Unmap()); p != nil {
		return p.name, true
	}
	return "", false
}

func (a *Allocator) poolOf(ip netip.Addr) *poolState { return lookup(a.index, ip) }

func (s *svc) assignment() Assignment {
	return Assignment{Pool: s.pool, IPs: slices.Clone(s.ips)}
}

// hold records s as a holder of each of its addresses.
func (a *Allocator) hold(s *svc) {
	for _, ip := range s.ips {
		use := a.ips[ip]
		if use == nil {
			use = &ipUse{pool: a.poolOf(ip)}
			a.ips[ip] = use
			a.setHeld(use.pool, ip, true)
			a.shareIndex(s, ip, true)
		}
		i, _ := slices.BinarySearchFunc(use.holders, s.key, func(h *svc, k string) int { return strings.Compare(h.key, k) })
		use.holders = slices.Insert(use.holders, i, s)
	}
	a.svcs[s.key] = s
}

// unhold removes s from its addresses' holders, freeing those it was the
// last holder of. It leaves a.svcs alone.
func (a *Allocator) unhold(s *svc) {
	for _, ip := range s.ips {
		use := a.ips[ip]
		use.holders = slices.DeleteFunc(use.holders, func(h *svc) bool { return h == s })
		if len(use.holders) > 0 {
			continue
		}
		delete(a.ips, ip)
		a.setHeld(use.pool, ip, false)
		a.shareIndex(s, ip, false)
	}
}

// setHeld updates a pool's free set and its non-full bit.
func (a *Allocator) setHeld(p *poolState, ip netip.Addr, held bool) {
	if p == nil {
		return
	}
	f := FamilyOf(ip)
	fs := &p.fams[f]
	_, reserved := a.reserved[ip]
	if held {
		fs.take(toU128(ip), reserved)
	} else {
		fs.give(toU128(ip), reserved)
	}
	if p.rank >= 0 {
		a.nonFull[f].set(p.rank, !fs.free.empty())
	}
}

// shareKey indexes addresses by what sharers must have in common.
func shareKey(sharingKey, backendKey string) string { return sharingKey + "\x00" + backendKey }

func (a *Allocator) shareIndex(s *svc, ip netip.Addr, add bool) {
	if s.sharingKey == "" {
		return
	}
	k := shareKey(s.sharingKey, s.backendKey)
	set := a.shared[k]
	switch {
	case add && set == nil:
		a.shared[k] = map[netip.Addr]struct{}{ip: {}}
	case add:
		set[ip] = struct{}{}
	default:
		delete(set, ip)
		if len(set) == 0 {
			delete(a.shared, k)
		}
	}
}
