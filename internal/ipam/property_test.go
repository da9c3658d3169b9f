package ipam

import (
	"math/rand/v2"
	"testing"
)

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// TestRandomOperations runs random operation sequences: no address is ever
// held by incompatible services, Stats agree with a brute-force recount,
// every call keeps its contract and results do not depend on map order.
func TestRandomOperations(t *testing.T) {
	seeds, ops := 300, 300
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		c := randChooser{rand.New(rand.NewPCG(uint64(seed), 42))}
		if err := runOps(c, ops); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
