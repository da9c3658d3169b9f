package ipam

import "sort"

// famState is one family of one pool: its ranges, the free addresses in
// them and the counters behind Stats.
//
// Invariants: every span in free lies inside ranges, holds no held and no
// reserved address and contains at least one allocatable address; every
// free, unreserved allocatable address of the ranges is in some span.
// Unallocatable (avoided) free addresses may or may not be in a span.
type famState struct {
	fam       Family
	avoid     bool   // skip .0 and .255 (IPv4 only)
	ranges    []span // sorted, disjoint, not adjacent
	free      freeSet
	capacity  u128  // allocatable addresses in ranges, saturating
	used      int64 // held addresses in ranges
	usedAlloc int64 // held allocatable addresses in ranges
	// reservedFree counts the reserved allocatable addresses of the ranges
	// that nobody holds: out of the free set, yet not in use.
	reservedFree int64
}

// newFamState builds the state for ranges with the sorted addresses held
// and the sorted addresses reserved inside them. Work is proportional to
// len(ranges)+len(held)+len(reserved), not to the ranges' size.
func newFamState(f Family, avoid bool, ranges []span, held, reserved []u128) famState {
	s := famState{fam: f, avoid: avoid && f == IPv4, ranges: ranges}
	blocked := s.block(held, reserved)
	for _, r := range ranges {
		s.capacity = s.capacity.addSat(s.sizeOf(r))
		cur, done := r.first, false
		for len(blocked) > 0 && !r.last.less(blocked[0]) {
			b := blocked[0]
			blocked = blocked[1:]
			if cur.less(b) {
				s.addSpan(span{cur, b.prev()})
			}
			cur, done = b.next(), b == r.last
		}
		if !done {
			s.addSpan(span{cur, r.last})
		}
	}
	return s
}

// block counts the held and the unheld reserved addresses and merges both
// sorted lists into one, without duplicates: the addresses kept out of the
// free set.
func (s *famState) block(held, reserved []u128) []u128 {
	out := make([]u128, 0, len(held)+len(reserved))
	for len(held) > 0 || len(reserved) > 0 {
		switch {
		case len(reserved) == 0 || (len(held) > 0 && !reserved[0].less(held[0])):
			if len(reserved) > 0 && reserved[0] == held[0] {
				reserved = reserved[1:]
			}
			s.countHeld(held[0])
			out, held = append(out, held[0]), held[1:]
		default:
			if s.allocatable(reserved[0]) {
				s.reservedFree++
			}
			out, reserved = append(out, reserved[0]), reserved[1:]
		}
	}
	return out
}

// sizeOf counts the allocatable addresses of a range.
func (s *famState) sizeOf(r span) u128 {
	if r.first == (u128{}) && r.last == maxU128 {
		return maxU128
	}
	n := r.last.sub(r.first).next()
	if s.avoid {
		n = n.sub(u128{lo: buggyCount(r.first.lo, r.last.lo)})
	}
	return n
}

func (s *famState) countHeld(x u128) {
	s.used++
	if s.allocatable(x) {
		s.usedAlloc++
	}
}

// allocatable reports whether x may be handed out.
func (s *famState) allocatable(x u128) bool { return !s.avoid || !buggy(x) }

// hasAllocatable reports whether sp contains an allocatable address; a
// span of three or more always does.
func (s *famState) hasAllocatable(sp span) bool {
	if !s.avoid || !sp.last.sub(sp.first).less(u128{lo: 2}) {
		return true
	}
	return !buggy(sp.first) || !buggy(sp.last)
}

func (s *famState) addSpan(sp span) {
	if s.hasAllocatable(sp) {
		s.free.insert(sp)
	}
}

// dropIfUseless removes a span left with only avoided addresses.
func (s *famState) dropIfUseless(n *node) {
	if !s.hasAllocatable(n.span) {
		s.free.remove(n.first)
	}
}

// contains reports whether x lies in the ranges.
func (s *famState) contains(x u128) bool {
	i := sort.Search(len(s.ranges), func(i int) bool { return x.less(s.ranges[i].first) })
	return i > 0 && s.ranges[i-1].contains(x)
}

// lowest returns the lowest free allocatable address.
func (s *famState) lowest() (u128, bool) {
	n := s.free.min()
	if n == nil {
		return u128{}, false
	}
	x := n.first
	for !s.allocatable(x) { // at most two steps: .255 then .0
		x = x.next()
	}
	return x, true
}

// take marks x, an unheld address of the ranges, as held. reserved says
// whether x is reserved (and so already out of the free set).
func (s *famState) take(x u128, reserved bool) {
	s.countHeld(x)
	if !s.allocatable(x) {
		return
	}
	if reserved {
		s.reservedFree--
		return
	}
	s.removeFree(x)
}

// give marks x, a held address of the ranges, as free again; a reserved
// one stays out of the free set.
func (s *famState) give(x u128, reserved bool) {
	s.used--
	if !s.allocatable(x) {
		return
	}
	s.usedAlloc--
	if reserved {
		s.reservedFree++
		return
	}
	s.addFree(x)
}

// reserve takes x, an unheld address of the ranges, out of the free set.
func (s *famState) reserve(x u128) {
	if s.allocatable(x) {
		s.reservedFree++
		s.removeFree(x)
	}
}

// unreserve puts x, an unheld reserved address of the ranges, back into
// the free set.
func (s *famState) unreserve(x u128) {
	if s.allocatable(x) {
		s.reservedFree--
		s.addFree(x)
	}
}

// removeFree takes the allocatable address x out of its span.
func (s *famState) removeFree(x u128) {
	n := s.free.floor(x)
	if n == nil || !n.contains(x) {
		return // unreachable while the invariants hold
	}
	first, last := n.first, n.last
	switch {
	case x == first && x == last:
		s.free.remove(first)
	case x == first:
		n.first = x.next()
		s.dropIfUseless(n)
	case x == last:
		n.last = x.prev()
		s.dropIfUseless(n)
	default:
		n.last = x.prev()
		s.dropIfUseless(n)
		s.addSpan(span{x.next(), last})
	}
}

// addFree puts the allocatable address x, in no span, back into the free
// set, merging it with its neighbours.
func (s *famState) addFree(x u128) {
	var left, right *node
	if l := s.free.floor(x); l != nil && l.last.next() == x {
		left = l
	}
	if x != maxU128 {
		if r := s.free.floor(x.next()); r != nil && r.first == x.next() {
			right = r
		}
	}
	switch {
	case left != nil && right != nil:
		left.last = right.last
		s.free.remove(right.first)
	case left != nil:
		left.last = x
	case right != nil:
		right.first = x
	default:
		s.free.insert(span{x, x})
	}
}

// available is the number of addresses that could still be handed out.
func (s *famState) available() int64 {
	return s.capacity.sub(u128{lo: uint64(s.usedAlloc + s.reservedFree)}).int64Sat()
}
