package election

import "slices"

// repair places the requests that every candidate turned away in the
// rounds, in canonical order: by an augmenting path when one exists, else
// above the bound on the least-loaded candidate.
//
// Trying each such request once is enough for a maximum assignment (a
// request without an augmenting path never gains one from later
// augmentations), and a search that fails leaves the nodes it saw "dead"
// until the next augmentation, so failures cost little.
func (b *balancer) repair() {
	var left []int32
	for i := range b.reqs {
		if b.reqs[i].owner < 0 && len(b.reqs[i].cands) > 0 {
			left = append(left, int32(i))
		}
	}
	if len(left) == 0 {
		return
	}
	slices.SortFunc(left, b.compare)
	for _, held := range b.held {
		slices.SortFunc(held, b.compare)
	}
	s := newSearch(len(b.names))
	for _, i := range left {
		if !s.augment(b, i) {
			b.overflow(i)
		}
	}
}

// overflow places request i above the bound: on its candidate with the
// fewest groups, ties to the one it ranks higher.
func (b *balancer) overflow(i int32) {
	r := &b.reqs[i]
	best, bestScore, bestLoad := int32(-1), uint64(0), 0
	for _, c := range r.cands {
		s, load := b.score(r, c), len(b.held[c])+b.extra[c]
		if best < 0 || load < bestLoad || load == bestLoad && ranksAbove(s, c, bestScore, best) {
			best, bestScore, bestLoad = c, s, load
		}
	}
	b.extra[best]++
	r.owner = best
}

// search is the state of the breadth-first searches for augmenting paths.
type search struct {
	// mark[x] is the generation of the search that reached node x; nodes
	// marked at or after deadFrom were reached since the last successful
	// augmentation and are skipped.
	mark     []int
	gen      int
	deadFrom int
	// via[x] is the request that would move into node x, and from[x] the
	// node it would leave (-1: the request being placed).
	via, from []int32
	queue     []int32
}

func newSearch(n int) *search {
	return &search{mark: make([]int, n), gen: 0, deadFrom: 1,
		via: make([]int32, n), from: make([]int32, n)}
}

// augment looks for a chain of full nodes from a candidate of request i to
// a node with room and shifts the chain. It reports whether it did.
func (s *search) augment(b *balancer, i int32) bool {
	s.gen++
	s.queue = s.queue[:0]
	s.reach(i, -1, b.reqs[i].cands)
	for k := 0; k < len(s.queue); k++ {
		x := s.queue[k]
		for _, h := range b.held[x] {
			if y, ok := b.bestWithRoom(h); ok {
				s.shift(b, h, x, y)
				s.deadFrom = s.gen + 1
				return true
			}
			s.reach(h, x, b.reqs[h].cands)
		}
	}
	return false
}

// reach queues the nodes of cands not yet reached, noting that request h
// would move into them from node x.
func (s *search) reach(h, x int32, cands []int32) {
	for _, c := range cands {
		if s.mark[c] >= s.deadFrom {
			continue
		}
		s.mark[c] = s.gen
		s.via[c], s.from[c] = h, x
		s.queue = append(s.queue, c)
	}
}

// shift moves request h from node x to node y, then every request of the
// chain into the place its successor left, and finally places the searched
// request.
func (s *search) shift(b *balancer, h, x, y int32) {
	for {
		b.held[y] = append(b.held[y], h)
		b.reqs[h].owner = y
		if x < 0 {
			return
		}
		b.held[x] = slices.DeleteFunc(b.held[x], func(r int32) bool { return r == h })
		h, x, y = s.via[x], s.from[x], x
	}
}

// bestWithRoom returns request h's best-ranked candidate that holds fewer
// groups than its bound.
func (b *balancer) bestWithRoom(h int32) (int32, bool) {
	r := &b.reqs[h]
	best, bestScore := int32(-1), uint64(0)
	for _, c := range r.cands {
		if len(b.held[c]) >= b.capacity[c] {
			continue
		}
		if s := b.score(r, c); best < 0 || ranksAbove(s, c, bestScore, best) {
			best, bestScore = c, s
		}
	}
	return best, best >= 0
}
