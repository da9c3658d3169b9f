package ipam

import (
	"math/rand/v2"
	"testing"
)

// TestFamStateAgainstBruteForce takes and gives random addresses of a range
// crossing several /24 boundaries and compares lowest() and the counters
// with a plain set after every change.
func TestFamStateAgainstBruteForce(t *testing.T) {
	first := toU128(ip("10.0.0.200"))
	const size = 1200
	for _, avoid := range []bool{false, true} {
		r := rand.New(rand.NewPCG(7, 9))
		s := newFamState(IPv4, avoid, []span{{first, u128{lo: first.lo + size - 1}}}, nil, nil)
		held := make([]bool, size)
		for i := range 20000 {
			k := r.IntN(size)
			x := u128{lo: first.lo + uint64(k)}
			switch {
			case held[k]:
				s.give(x, false)
				held[k] = false
			case r.IntN(3) == 0:
				s.take(x, false)
				held[k] = true
			default:
				if y, ok := s.lowest(); ok {
					s.take(y, false)
					held[y.lo-first.lo] = true
				}
			}
			if err := compareFam(&s, held, first); err != nil {
				t.Fatalf("avoid=%v op %d: %v", avoid, i, err)
			}
		}
	}
}

func compareFam(s *famState, held []bool, first u128) error {
	var wantLow u128
	found := false
	var used, avail int64
	for k, h := range held {
		x := u128{lo: first.lo + uint64(k)}
		switch {
		case h:
			used++
		case s.allocatable(x):
			avail++
			if !found {
				wantLow, found = x, true
			}
		}
	}
	low, ok := s.lowest()
	if ok != found || low != wantLow {
		return errorf("lowest = %v %v, want %v %v", low, ok, wantLow, found)
	}
	if s.used != used || s.available() != avail {
		return errorf("used %d available %d, want %d and %d", s.used, s.available(), used, avail)
	}
	return checkTreap(s.free.root, nil, nil)
}
