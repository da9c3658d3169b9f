package heartbeat

import (
	"cmp"
	"hash/fnv"
	"slices"
)

// ring places nodes on a circle by a hash of their names. Node X's
// watchers are the k nodes that follow X's position clockwise (X itself
// excluded). Every node of the ring therefore watches exactly k nodes and
// is watched by exactly k (when the ring has more than k nodes), so each
// node sends and receives k heartbeats per interval whatever the cluster
// size; adding or removing one node changes the watchers of only k nodes.
// Every node computes the same ring from the same names: the assignment
// needs no coordination. It is immutable and pure.
type ring struct {
	slots []slot // sorted by position
}

type slot struct {
	pos  uint64
	name string
}

// newRing builds the ring of names (duplicates ignored).
func newRing(names []string) ring {
	slots := make([]slot, 0, len(names))
	for _, n := range names {
		slots = append(slots, slot{pos: position(n), name: n})
	}
	slices.SortFunc(slots, compareSlots)
	slots = slices.CompactFunc(slots, func(a, b slot) bool { return a.name == b.name })
	return ring{slots: slots}
}

func compareSlots(a, b slot) int {
	if c := cmp.Compare(a.pos, b.pos); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}

// position hashes a name onto the ring: FNV-1a, then a SplitMix64
// finaliser so that similar names ("node-1", "node-2") spread out.
func position(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// watchers returns the (at most k) nodes that watch subject, in ring
// order. subject need not be on the ring (a node declared dead is off it
// but still watched, to hear it come back).
func (r ring) watchers(subject string, k int) []string {
	n := len(r.slots)
	if n == 0 || k <= 0 {
		return nil
	}
	at, _ := slices.BinarySearchFunc(r.slots, slot{pos: position(subject), name: subject}, compareSlots)
	out := make([]string, 0, min(k, n))
	for i := 0; i < n && len(out) < k; i++ {
		if s := r.slots[(at+i)%n]; s.name != subject {
			out = append(out, s.name)
		}
	}
	return out
}
