package ipam

import "math/bits"

// bitset marks, by rank, the auto-assign pools that still have a free
// address of one family. Scanning skips 64 full pools per word.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int, on bool) {
	if on {
		b[i/64] |= 1 << (i % 64)
	} else {
		b[i/64] &^= 1 << (i % 64)
	}
}

// nextBoth returns the first index >= from set in a and, when b is not
// nil, in b too; -1 when there is none.
func nextBoth(a, b bitset, from int) int {
	for w := from / 64; w < len(a); w++ {
		word := a[w]
		if b != nil {
			word &= b[w]
		}
		if w == from/64 {
			word &^= 1<<(from%64) - 1
		}
		if word != 0 {
			return w*64 + bits.TrailingZeros64(word)
		}
	}
	return -1
}
