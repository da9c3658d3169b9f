package heartbeat

import (
	"fmt"
	"slices"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("node-%d", i)
	}
	return out
}

func TestRingBalanced(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for k := 1; k <= 3; k++ {
			r := newRing(names(n))
			watching := map[string]int{}
			for _, x := range names(n) {
				ws := r.watchers(x, k)
				if len(ws) != min(k, n-1) || slices.Contains(ws, x) {
					t.Fatalf("n=%d k=%d: watchers(%s) = %v", n, k, x, ws)
				}
				for _, w := range ws {
					watching[w]++
				}
			}
			for _, x := range names(n) {
				if n > 1 && watching[x] != min(k, n-1) {
					t.Fatalf("n=%d k=%d: %s watches %d nodes, want %d", n, k, x, watching[x], min(k, n-1))
				}
			}
		}
	}
}

func TestRingDeterministic(t *testing.T) {
	a, b := names(10), names(10)
	slices.Reverse(b)
	ra, rb := newRing(a), newRing(append(b, b[0])) // order and duplicates do not matter
	for _, x := range a {
		if wa, wb := ra.watchers(x, 2), rb.watchers(x, 2); !slices.Equal(wa, wb) {
			t.Errorf("watchers(%s): %v and %v", x, wa, wb)
		}
	}
}

// TestRingChurn: one node joining changes the watchers of at most k+1
// nodes (itself and the k before it), whatever the cluster size.
func TestRingChurn(t *testing.T) {
	const k = 2
	for n := 3; n <= 60; n++ {
		before, after := newRing(names(n)), newRing(names(n+1))
		changed := 0
		for _, x := range names(n + 1) {
			if !slices.Equal(before.watchers(x, k), after.watchers(x, k)) {
				changed++
			}
		}
		if changed > k+1 {
			t.Errorf("n=%d: a join changed the watchers of %d nodes, want at most %d", n, changed, k+1)
		}
	}
}

func TestRingWatchersOfAbsentNode(t *testing.T) {
	r := newRing([]string{"a", "b", "c", "d"})
	// A node off the ring (declared dead) is watched by the nodes that
	// would follow it, as it computes itself with the same live nodes.
	withX := newRing([]string{"a", "b", "c", "d", "x"})
	if got, want := r.watchers("x", 2), withX.watchers("x", 2); !slices.Equal(got, want) {
		t.Errorf("watchers of absent x = %v, want %v", got, want)
	}
	if got := newRing(nil).watchers("x", 2); got != nil {
		t.Errorf("empty ring: %v", got)
	}
}
