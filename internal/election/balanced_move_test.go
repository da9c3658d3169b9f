package election

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// placement computes the owner of every key on the named nodes.
type placement func(keys, names []string) map[string]string

func balancePlacement(keys, names []string) map[string]string {
	return byKey(sameCandidates(keys, names))
}

func winnerPlacement(keys, names []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k], _ = Winner(k, names)
	}
	return out
}

// samples is a distribution of one figure over trials.
type samples []float64

func (s samples) mean() float64 {
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return sum / float64(max(len(s), 1))
}

// quantile returns the q-quantile (nearest rank) of the samples.
func (s samples) quantile(q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(s))
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// above returns the share of samples greater than x.
func (s samples) above(x float64) float64 {
	n := 0
	for _, v := range s {
		if v > x {
			n++
		}
	}
	return float64(n) / float64(max(len(s), 1))
}

func (s samples) String() string {
	return fmt.Sprintf("mean %.3f p99 %.3g max %.3g", s.mean(), s.quantile(0.99), s.quantile(1))
}

// movement is what one trial's events did to the groups that were neither
// added, removed, nor on a removed node.
type movement struct {
	spread                 samples // most groups on a node, over the mean m/n
	overBound              int     // trials with a node above the bound
	groupAdd, groupRemove  samples // other groups moved
	nodeRemove             samples // other groups moved
	nodeRemoveShare        samples // ... as a share of the other groups
	nodeAdd                samples // groups moved elsewhere than to the new node
	underBound, unexpected int     // events within the bound; of those, moves rendezvous would not make
}

// moved counts the keys of before, not in skip, whose owner changed.
func moved(before, after map[string]string, skip func(key string) bool) int {
	n := 0
	for k, o := range before {
		if !skip(k) && after[k] != o {
			n++
		}
	}
	return n
}

// withinBound reports whether no node is the first choice (under Balance's
// score) of more than the bound: Balance is then plain rendezvous.
func withinBound(keys, names []string) bool {
	nodeHash := make([]uint64, len(names))
	for i, name := range names {
		nodeHash[i] = hash64(name)
	}
	count := make([]int, len(names))
	for _, k := range keys {
		kh, best := hash64(k), 0
		for i := range names {
			if pairScore(kh, nodeHash[i]) > pairScore(kh, nodeHash[best]) {
				best = i
			}
		}
		if count[best]++; count[best] > bound(len(keys), len(names)) {
			return false
		}
	}
	return true
}

// measure places m random groups on n random nodes, then adds a group,
// removes one, removes a node and adds a node, each from the same start.
func measure(r *rand.Rand, place placement, m, n, trials int) movement {
	var mv movement
	for range trials {
		keys, names := randomCluster(r, m+1, n+1)
		extraKey, newNode := keys[m], names[n]
		keys, names = keys[:m], names[:n]
		base := place(keys, names)
		load := map[string]int{}
		for _, o := range base {
			load[o]++
		}
		top := slices.Max(slices.Collect(func(yield func(int) bool) {
			for _, l := range load {
				yield(l)
			}
		}))
		mv.spread = append(mv.spread, float64(top)*float64(n)/float64(m))
		if top > bound(m, n) {
			mv.overBound++
		}
		none := func(string) bool { return false }
		within := withinBound(keys, names)
		mv.record(within && withinBound(append(slices.Clone(keys), extraKey), names), &mv.groupAdd,
			moved(base, place(append(slices.Clone(keys), extraKey), names), none))
		gone := keys[r.IntN(m)]
		less := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == gone })
		mv.record(within && withinBound(less, names), &mv.groupRemove,
			moved(base, place(less, names), func(k string) bool { return k == gone }))
		if n > 1 {
			lost := names[r.IntN(n)]
			rest := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == lost })
			onLost := func(k string) bool { return base[k] == lost }
			others := m - load[lost]
			count := moved(base, place(keys, rest), onLost)
			mv.record(within && withinBound(keys, rest), &mv.nodeRemove, count)
			if others > 0 {
				mv.nodeRemoveShare = append(mv.nodeRemoveShare, float64(count)/float64(others))
			}
		}
		grown := place(keys, append(slices.Clone(names), newNode))
		count := 0
		for k, o := range base {
			if grown[k] != o && grown[k] != newNode {
				count++
			}
		}
		mv.record(within && withinBound(keys, append(slices.Clone(names), newNode)), &mv.nodeAdd, count)
	}
	return mv
}

// record adds an event's count; within the bound it must be zero.
func (mv *movement) record(within bool, s *samples, count int) {
	*s = append(*s, float64(count))
	if within {
		mv.underBound++
		if count > 0 {
			mv.unexpected++
		}
	}
}

// TestBalanceMoves checks the movement guarantee (within the bound, events
// move exactly what rendezvous moves) over random clusters, and guards the
// measured distribution of the rest against regressions: the limits are
// the figures measured when Balance was written, with some margin; they
// are not guarantees.
func TestBalanceMoves(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{3, 5, 10, 30} {
		for _, m := range []int{3, 10, 30, 100, 300} {
			mv := measure(r, balancePlacement, m, n, 100)
			t.Logf("%3d groups on %2d nodes: group add %v (>1: %.1f%%); group remove %v (>1: %.1f%%); node removal %v (share %v, >10%%: %.1f%%); node addition %v",
				m, n, mv.groupAdd, 100*mv.groupAdd.above(1), mv.groupRemove, 100*mv.groupRemove.above(1),
				mv.nodeRemove, mv.nodeRemoveShare, 100*mv.nodeRemoveShare.above(0.1), mv.nodeAdd)
			if mv.unexpected > 0 {
				t.Errorf("%d groups on %d nodes: %d of %d events within the bound moved other groups", m, n, mv.unexpected, mv.underBound)
			}
			if mv.overBound > 0 {
				t.Errorf("%d groups on %d nodes: %d trials above the bound", m, n, mv.overBound)
			}
			for name, s := range map[string]samples{"group add": mv.groupAdd, "group remove": mv.groupRemove} {
				if s.mean() > 0.6 || s.quantile(1) > 4 {
					t.Errorf("%d groups on %d nodes: %s moved other groups: %v, want mean <= 0.6, max <= 4", m, n, name, s)
				}
			}
			if s := mv.nodeRemoveShare; s.mean() > 0.08 {
				t.Errorf("%d groups on %d nodes: node removal moved %v of the other groups, want mean <= 8%%", m, n, s)
			}
		}
	}
}

// TestBalanceReport logs the figures to quote: spread and moves per event
// for 3, 30 and 300 groups on 3 nodes, Balance against Winner (rendezvous).
func TestBalanceReport(t *testing.T) {
	if testing.Short() {
		t.Skip("report only")
	}
	for _, m := range []int{3, 30, 300} {
		for _, alg := range []struct {
			name  string
			place placement
		}{{"Balance", balancePlacement}, {"Winner", winnerPlacement}} {
			trials := min(2000, 150000/m)
			mv := measure(rand.New(rand.NewPCG(17, uint64(m))), alg.place, m, 3, trials)
			t.Logf("%3d groups, 3 nodes, %s (%d trials): most on a node / mean %v; above the bound %.2f%%",
				m, alg.name, trials, mv.spread, 100*float64(mv.overBound)/float64(trials))
			t.Logf("    other groups moved: group add %v (>1: %.2f%%); group remove %v (>1: %.2f%%); node removal %v (share %v, >10%%: %.2f%%); node addition %v",
				mv.groupAdd, 100*mv.groupAdd.above(1), mv.groupRemove, 100*mv.groupRemove.above(1),
				mv.nodeRemove, mv.nodeRemoveShare, 100*mv.nodeRemoveShare.above(0.1), mv.nodeAdd)
		}
	}
}

func BenchmarkBalance10000Groups100Nodes(b *testing.B) {
	keys, names := randomCluster(rand.New(rand.NewPCG(1, 2)), 10000, 100)
	reqs := sameCandidates(keys, names)
	b.ReportAllocs()
	for b.Loop() {
		Balance(reqs)
	}
}

// BenchmarkBalanceMixedCandidates: every group may use a random 80% of the
// nodes, so requests share no candidate list.
func BenchmarkBalanceMixedCandidates(b *testing.B) {
	reqs := randomRequests(rand.New(rand.NewPCG(3, 4)), 10000, 100, 0.8)
	b.ReportAllocs()
	for b.Loop() {
		Balance(reqs)
	}
}
