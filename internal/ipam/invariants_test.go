package ipam

import (
	"fmt"
	"slices"
	"strings"
)

// checkInvariants cross-checks the allocator's books against a brute-force
// recount. Pools of up to bruteLimit addresses per family are enumerated
// address by address.
func checkInvariants(a *Allocator) error {
	for _, check := range []func(*Allocator) error{checkServices, checkHeld, checkSharedIndex, checkPools} {
		if err := check(a); err != nil {
			return err
		}
	}
	return nil
}

func checkServices(a *Allocator) error {
	for key, s := range a.svcs {
		if s.key != key || len(s.ips) == 0 {
			return fmt.Errorf("service %s: bad record %+v", key, s)
		}
		for _, ip := range s.ips {
			use := a.ips[ip]
			if use == nil || !slices.Contains(use.holders, s) {
				return fmt.Errorf("service %s holds %s but the address does not list it", key, ip)
			}
		}
	}
	return nil
}

func checkHeld(a *Allocator) error {
	for ip, use := range a.ips {
		if len(use.holders) == 0 {
			return fmt.Errorf("%s is held by nobody", ip)
		}
		if use.pool != lookup(a.index, ip) {
			return fmt.Errorf("%s: recorded pool differs from lookup", ip)
		}
		if !slices.IsSortedFunc(use.holders, func(x, y *svc) int { return strings.Compare(x.key, y.key) }) {
			return fmt.Errorf("%s: holders not sorted", ip)
		}
		for i, h := range use.holders {
			if a.svcs[h.key] != h || !slices.Contains(h.ips, ip) {
				return fmt.Errorf("%s: holder %s is stale", ip, h.key)
			}
			for _, g := range use.holders[i+1:] {
				if !sharable(h, g) {
					return fmt.Errorf("%s is held by incompatible services %s and %s", ip, h.key, g.key)
				}
			}
		}
	}
	return nil
}

// sharable restates the sharing rule independently of the code under test.
func sharable(x, y *svc) bool {
	if x.sharingKey == "" || x.sharingKey != y.sharingKey || x.backendKey != y.backendKey {
		return false
	}
	for _, p := range x.ports {
		for _, q := range y.ports {
			if p.Port == q.Port && strings.EqualFold(p.Protocol, q.Protocol) {
				return false
			}
		}
	}
	return true
}

func checkSharedIndex(a *Allocator) error {
	n := 0
	for ip, use := range a.ips {
		h := use.holders[0]
		if h.sharingKey == "" {
			continue
		}
		n++
		if _, ok := a.shared[shareKey(h.sharingKey, h.backendKey)][ip]; !ok {
			return fmt.Errorf("%s missing from the sharing index", ip)
		}
	}
	m := 0
	for _, set := range a.shared {
		m += len(set)
	}
	if m != n {
		return fmt.Errorf("sharing index has %d addresses, want %d", m, n)
	}
	return nil
}

func checkPools(a *Allocator) error {
	for _, p := range a.pools {
		for f := range p.fams {
			if err := checkFam(a, p, Family(f)); err != nil {
				return fmt.Errorf("pool %s %s: %w", p.name, Family(f), err)
			}
			if p.rank >= 0 && (a.ranked[p.rank] != p || a.nonFull[f][p.rank/64]>>(p.rank%64)&1 == 0 != p.fams[f].free.empty()) {
				return fmt.Errorf("pool %s: rank or non-full bit wrong", p.name)
			}
		}
	}
	return nil
}

const bruteLimit = 1 << 14

func checkFam(a *Allocator, p *poolState, f Family) error {
	s := &p.fams[f]
	if err := checkTreap(s.free.root, nil, nil); err != nil {
		return err
	}
	var spans []span
	s.free.each(func(sp span) { spans = append(spans, sp) })
	if len(spans) != s.free.n {
		return fmt.Errorf("free set counts %d spans, has %d", s.free.n, len(spans))
	}
	for i, sp := range spans {
		if sp.last.less(sp.first) || (i > 0 && !spans[i-1].last.less(sp.first)) || !s.hasAllocatable(sp) ||
			!s.contains(sp.first) || !s.contains(sp.last) {
			return fmt.Errorf("bad span %d %v", i, sp)
		}
	}
	var used, usedAlloc int64
	for ip, use := range a.ips {
		if use.pool != p || FamilyOf(ip) != f {
			continue
		}
		x := toU128(ip)
		used++
		if s.allocatable(x) {
			usedAlloc++
		}
		if n := s.free.floor(x); n != nil && n.contains(x) {
			return fmt.Errorf("held %s is in the free set", ip)
		}
	}
	if used != s.used || usedAlloc != s.usedAlloc {
		return fmt.Errorf("counted %d/%d held, books say %d/%d", used, usedAlloc, s.used, s.usedAlloc)
	}
	var reservedFree int64
	for ip := range a.reserved {
		if lookup(a.index, ip) != p || FamilyOf(ip) != f || a.ips[ip] != nil {
			continue
		}
		x := toU128(ip)
		if !s.allocatable(x) {
			continue // avoided addresses may stay in a span
		}
		if n := s.free.floor(x); n != nil && n.contains(x) {
			return fmt.Errorf("reserved %s is in the free set", ip)
		}
		reservedFree++
	}
	if reservedFree != s.reservedFree {
		return fmt.Errorf("counted %d unheld reserved, books say %d", reservedFree, s.reservedFree)
	}
	return bruteFam(a, p, f, spans)
}

// bruteFam enumerates a small family address by address: every free
// allocatable address must be in a span, and Stats must agree.
func bruteFam(a *Allocator, p *poolState, f Family, spans []span) error {
	s := &p.fams[f]
	var total uint64
	for _, r := range s.ranges {
		if r.last.sub(r.first).hi != 0 || r.last.sub(r.first).lo >= bruteLimit {
			return nil
		}
		total += r.last.sub(r.first).lo + 1
	}
	if total > bruteLimit {
		return nil
	}
	var assigned, available int64
	for _, r := range s.ranges {
		for x := r.first; ; x = x.next() {
			_, held := a.ips[fromU128(x, f)]
			_, reserved := a.reserved[fromU128(x, f)]
			inFree := slices.ContainsFunc(spans, func(sp span) bool { return sp.contains(x) })
			switch {
			case held:
				assigned++
			case reserved:
			case s.allocatable(x) && !inFree:
				return fmt.Errorf("free %s missing from the free set", fromU128(x, f))
			case s.allocatable(x):
				available++
			}
			if x == r.last {
				break
			}
		}
	}
	st := a.Stats(p.name)
	gotA, gotF := st.AssignedIPv4, st.AvailableIPv4
	if f == IPv6 {
		gotA, gotF = st.AssignedIPv6, st.AvailableIPv6
	}
	if gotA != assigned || gotF != available {
		return fmt.Errorf("Stats say %d assigned %d available, recount %d and %d", gotA, gotF, assigned, available)
	}
	return nil
}

// checkTreap checks order and heap properties within (lo, hi).
func checkTreap(n *node, lo, hi *node) error {
	if n == nil {
		return nil
	}
	if (lo != nil && !lo.first.less(n.first)) || (hi != nil && !n.first.less(hi.first)) {
		return fmt.Errorf("treap out of order at %v", n.span)
	}
	for _, c := range []*node{n.left, n.right} {
		if c != nil && c.prio > n.prio {
			return fmt.Errorf("treap heap order broken at %v", n.span)
		}
	}
	if err := checkTreap(n.left, lo, n); err != nil {
		return err
	}
	return checkTreap(n.right, n, hi)
}
