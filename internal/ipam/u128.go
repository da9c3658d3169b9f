package ipam

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
)

// u128 is an address as a 128-bit unsigned number. IPv4 addresses use the
// low 32 bits; the family is kept alongside, never inferred from the value.
type u128 struct{ hi, lo uint64 }

var maxU128 = u128{math.MaxUint64, math.MaxUint64}

func (x u128) cmp(y u128) int {
	switch {
	case x.hi != y.hi:
		if x.hi < y.hi {
			return -1
		}
		return 1
	case x.lo < y.lo:
		return -1
	case x.lo > y.lo:
		return 1
	}
	return 0
}

func (x u128) less(y u128) bool { return x.cmp(y) < 0 }

// next and prev wrap around; callers guard the ends.
func (x u128) next() u128 {
	lo, c := bits.Add64(x.lo, 1, 0)
	return u128{x.hi + c, lo}
}

func (x u128) prev() u128 {
	lo, b := bits.Sub64(x.lo, 1, 0)
	return u128{x.hi - b, lo}
}

func (x u128) sub(y u128) u128 {
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, b)
	return u128{hi, lo}
}

// addSat adds, saturating at maxU128.
func (x u128) addSat(y u128) u128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, c := bits.Add64(x.hi, y.hi, c)
	if c != 0 {
		return maxU128
	}
	return u128{hi, lo}
}

// int64Sat converts, saturating at math.MaxInt64.
func (x u128) int64Sat() int64 {
	if x.hi != 0 || x.lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(x.lo)
}

// toU128 converts an unmapped address.
func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func fromU128(x u128, f Family) netip.Addr {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(x.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

// buggy reports whether an IPv4 address ends in .0 or .255.
func buggy(x u128) bool {
	b := x.lo & 0xff
	return b == 0 || b == 0xff
}

// buggyCount counts the IPv4 addresses ending in .0 or .255 in [first, last].
func buggyCount(first, last uint64) uint64 {
	return endingIn(last, 0) + endingIn(last, 255) - endingIn(first, 0) - endingIn(first, 255) +
		boolCount(buggy(u128{lo: first}))
}

// endingIn counts x in [0, n] with x%256 == r.
func endingIn(n, r uint64) uint64 {
	if n < r {
		return 0
	}
	return (n-r)/256 + 1
}

func boolCount(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
