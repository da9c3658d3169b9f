package election

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Request is one group to place: its election key and the nodes that may
// own it.
type Request struct {
	// Key is the group's election key (Group.Key). Keys are expected to be
	// unique; equal keys are still placed deterministically.
	Key string
	// Candidates are the nodes that may own the group, in any order.
	// Duplicates count once and empty names are ignored.
	Candidates []string
}

// Balance places every request on one of its candidates so that no node
// owns much more than its share, and returns the owners in the order of
// reqs ("" for a request without candidates).
//
// Terms. Requests that share a candidate, directly or through other
// requests, form a component; components are placed independently. In a
// component, m is the number of requests and n the number of distinct
// candidate nodes, and the bound is C = ceil(1.25·m/n). When every request
// has the same candidates there is one component: m counts the requests
// and n their nodes.
//
// Algorithm. Every request ranks its candidates by a score hashed from its
// key and the node's name, highest first: the first choice is a rendezvous
// winner, but under a cheaper hash than Winner's, so in general not
// Winner's node. Placement runs in rounds: in round k every request not yet
// placed asks its k-th choice, and a node takes those it scores highest
// while it holds fewer than C, turning the others away. A request placed in
// a round is never displaced by a later round. A request that all its
// candidates turned away (possible only when candidate sets differ) is
// then placed by shifting placed requests along a chain of full nodes to a
// node with room (an augmenting path, found breadth-first in a fixed
// order). When no such chain exists the bound cannot hold for it: it goes
// to its candidate with the fewest groups, ties to its better-ranked one.
//
// Guarantees:
//   - A request with candidates gets one of them.
//   - The result depends only on the requests as a set: not on their order
//     nor on the order or repetition of candidates, so every speaker
//     computes the same answer from the same inputs.
//   - As many requests as possible are placed within the bound (a maximum
//     assignment): a node exceeds C only when no assignment keeps every
//     request within it, which needs differing candidate sets.
//   - A request sits below its first choice only if every candidate it
//     ranks higher holds at least C groups. So while no node is the first
//     choice of more than C requests, Balance is plain rendezvous on its
//     score and moves exactly what rendezvous moves.
//
// Not guaranteed: how many other groups move when a node or a request comes
// or goes. Others move only through full nodes: a newcomer that a full
// node ranks above one of its holders turns the lowest-ranked holder away,
// which asks its next choice (a chain while it meets full nodes), and a
// bound that rises (m grows, n shrinks) takes turned-away requests back.
// The tests measure the distribution (balanced_move_test.go).
//
// Cost: one SHA-256 per key and per node, and a 64-bit mix per candidate
// and round; most requests are placed in the first round (10,000 requests
// on 100 nodes: 10 to 25 ms on one core).
func Balance(reqs []Request) []string {
	b := newBalancer(reqs)
	b.rounds()
	b.repair()
	out := make([]string, len(reqs))
	for i, r := range b.reqs {
		if r.owner >= 0 {
			out[i] = b.names[r.owner]
		}
	}
	return out
}

// bound is the most groups a node may hold: ceil(1.25·m/n).
func bound(m, n int) int {
	return (5*m + 4*n - 1) / (4 * n)
}

// hash64 is the first 8 bytes of SHA-256(s).
func hash64(s string) uint64 {
	var buf [128]byte
	sum := sha256.Sum256(append(buf[:0], s...))
	return binary.BigEndian.Uint64(sum[:8])
}

// pairScore is a candidate's weight for a key in Balance: the 64-bit
// finalizer of MurmurHash3 over the XOR of both hashes. Computing it costs
// a few nanoseconds where a SHA-256 per pair costs a hundred.
func pairScore(keyHash, nodeHash uint64) uint64 {
	x := keyHash ^ nodeHash
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// balancer holds one Balance computation.
type balancer struct {
	names    []string  // distinct candidate names, sorted
	nodeHash []uint64  // hash64 of each name
	capacity []int     // the bound of each node's component
	held     [][]int32 // requests each node holds within its bound
	extra    []int     // requests placed above the bound, per node
	reqs     []request
}

// request is one Request in node indices, with its placement state.
type request struct {
	key   string
	hash  uint64
	cands []int32 // distinct node indices, unordered; shared between equal lists
	owner int32   // -1 while unplaced
	// tried is how many choices the request has asked; last and lastNode
	// are the score and node of the latest, for walking down the ranking.
	tried    int
	last     uint64
	lastNode int32
}

func newBalancer(in []Request) *balancer {
	b := &balancer{reqs: make([]request, len(in))}
	index := map[string]int32{}
	var seen []int // seen[node] is 1 + the last request that listed it
	for i := range in {
		r := &b.reqs[i]
		r.key, r.hash, r.owner = in[i].Key, hash64(in[i].Key), -1
		if i > 0 && slices.Equal(in[i].Candidates, in[i-1].Candidates) {
			r.cands = b.reqs[i-1].cands
			continue
		}
		r.cands = make([]int32, 0, len(in[i].Candidates))
		for _, name := range in[i].Candidates {
			if name == "" {
				continue
			}
			j, ok := index[name]
			if !ok {
				j = int32(len(b.names))
				index[name] = j
				b.names = append(b.names, name)
				seen = append(seen, 0)
			}
			if seen[j] != i+1 {
				seen[j] = i + 1
				r.cands = append(r.cands, j)
			}
		}
	}
	b.sortNodes()
	b.capacity = componentBounds(b.reqs, len(b.names))
	b.held = make([][]int32, len(b.names))
	b.extra = make([]int, len(b.names))
	return b
}

// sortNodes renumbers nodes in name order, so that indices, and every tie
// broken by them, do not depend on the order of the input.
func (b *balancer) sortNodes() {
	order := make([]int32, len(b.names))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return cmp.Compare(b.names[x], b.names[y]) })
	renum := make([]int32, len(order))
	names := make([]string, len(order))
	b.nodeHash = make([]uint64, len(order))
	for to, from := range order {
		renum[from] = int32(to)
		names[to] = b.names[from]
		b.nodeHash[to] = hash64(names[to])
	}
	b.names = names
	for i := range b.reqs {
		cands := b.reqs[i].cands
		if i > 0 && sameList(cands, b.reqs[i-1].cands) {
			continue // shared with the previous request, already renumbered
		}
		for k, c := range cands {
			cands[k] = renum[c]
		}
	}
}

// sameList reports whether two candidate lists are one shared slice.
func sameList(a, b []int32) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// componentBounds returns the bound of every node: ceil(1.25·m/n) over the
// requests and nodes of its component.
func componentBounds(reqs []request, n int) []int {
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for i, r := range reqs {
		if len(r.cands) == 0 || i > 0 && sameList(r.cands, reqs[i-1].cands) {
			continue
		}
		root := find(r.cands[0])
		for _, c := range r.cands[1:] {
			if x := find(c); x != root {
				parent[x] = root
			}
		}
	}
	groups, nodes := make([]int, n), make([]int, n)
	for x := range parent {
		nodes[find(int32(x))]++
	}
	for _, r := range reqs {
		if len(r.cands) > 0 {
			groups[find(r.cands[0])]++
		}
	}
	out := make([]int, n)
	for x := range out {
		root := find(int32(x))
		out[x] = bound(groups[root], nodes[root])
	}
	return out
}

// score is node c's weight for request r.
func (b *balancer) score(r *request, c int32) uint64 {
	return pairScore(r.hash, b.nodeHash[c])
}

// ranksAbove reports whether node x with score sx ranks before node y with
// score sy for one request: higher score first, then lower index.
func ranksAbove(sx uint64, x int32, sy uint64, y int32) bool {
	if sx != sy {
		return sx > sy
	}
	return x < y
}

// next returns request r's next choice below the last one it asked, and
// false once it has asked every candidate.
func (b *balancer) next(r *request) (int32, uint64, bool) {
	if r.tried >= len(r.cands) {
		return -1, 0, false
	}
	best, bestScore := int32(-1), uint64(0)
	for _, c := range r.cands {
		s := b.score(r, c)
		if r.tried > 0 && !ranksAbove(r.last, r.lastNode, s, c) {
			continue
		}
		if best < 0 || ranksAbove(s, c, bestScore, best) {
			best, bestScore = c, s
		}
	}
	r.tried++
	r.last, r.lastNode = bestScore, best
	return best, bestScore, true
}

// compare orders requests canonically, for ties and processing orders that
// must not depend on the input order: by key hash, key, candidate set, and
// only then by position (where the requests are identical).
func (b *balancer) compare(i, j int32) int {
	ri, rj := &b.reqs[i], &b.reqs[j]
	if c := cmp.Or(cmp.Compare(ri.hash, rj.hash), cmp.Compare(ri.key, rj.key)); c != 0 {
		return c
	}
	return cmp.Or(slices.Compare(slices.Sorted(slices.Values(ri.cands)), slices.Sorted(slices.Values(rj.cands))), cmp.Compare(i, j))
}

// proposal is a request asking a node, with the node's score for it.
type proposal struct {
	req   int32
	score uint64
}

// rounds runs the proposal rounds: each unplaced request asks its next
// choice; each asked node keeps its highest-scored askers up to its bound.
func (b *balancer) rounds() {
	var free []int32
	for i := range b.reqs {
		if len(b.reqs[i].cands) > 0 {
			free = append(free, int32(i))
		}
	}
	asked := make([][]proposal, len(b.names))
	var touched []int32
	for len(free) > 0 {
		touched = touched[:0]
		for _, i := range free {
			c, s, ok := b.next(&b.reqs[i])
			if !ok {
				continue // turned away everywhere: repair places it
			}
			if len(asked[c]) == 0 {
				touched = append(touched, c)
			}
			asked[c] = append(asked[c], proposal{req: i, score: s})
		}
		free = free[:0]
		for _, c := range touched {
			free = b.accept(c, asked[c], free)
			asked[c] = asked[c][:0]
		}
	}
}

// accept lets node c keep its best askers while it has room and appends
// the others to turnedAway.
func (b *balancer) accept(c int32, askers []proposal, turnedAway []int32) []int32 {
	slices.SortFunc(askers, func(x, y proposal) int {
		return cmp.Or(cmp.Compare(y.score, x.score), b.compare(x.req, y.req))
	})
	for _, p := range askers {
		if len(b.held[c]) < b.capacity[c] {
			b.held[c] = append(b.held[c], p.req)
			b.reqs[p.req].owner = c
		} else {
			turnedAway = append(turnedAway, p.req)
		}
	}
	return turnedAway
}
