package model

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	"github.com/pylonlb/pylon/internal/ipam"
)

// ParseAddresses parses one entry of IPAddressPool.spec.addresses: a CIDR
// ("10.0.0.0/24", host bits must be zero) or an inclusive range
// ("10.0.0.10-10.0.0.20", spaces around the dash allowed) of one family.
func ParseAddresses(s string) (ipam.Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ipam.Range{}, errors.New("empty address entry")
	}
	if first, last, ok := strings.Cut(s, "-"); ok {
		return parseRange(strings.TrimSpace(first), strings.TrimSpace(last))
	}
	if strings.Contains(s, "/") {
		return parseCIDR(s)
	}
	return ipam.Range{}, fmt.Errorf("%q is neither a CIDR (a.b.c.d/n) nor a range (a-b)", s)
}

// parseCIDR parses a canonical prefix into the range it covers.
func parseCIDR(s string) (ipam.Range, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return ipam.Range{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
	}
	if err := checkPlainAddr(p.Addr()); err != nil {
		return ipam.Range{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
	}
	if p.Masked() != p {
		return ipam.Range{}, fmt.Errorf("CIDR %q has host bits set; the network is %s", s, p.Masked())
	}
	return ipam.Range{First: p.Addr(), Last: lastOf(p)}, nil
}

// parseRange parses the two ends of an "a-b" range.
func parseRange(a, b string) (ipam.Range, error) {
	first, err := parseAddr(a)
	if err != nil {
		return ipam.Range{}, fmt.Errorf("invalid range start: %w", err)
	}
	last, err := parseAddr(b)
	if err != nil {
		return ipam.Range{}, fmt.Errorf("invalid range end: %w", err)
	}
	if first.Is4() != last.Is4() {
		return ipam.Range{}, fmt.Errorf("range %s-%s mixes IPv4 and IPv6", first, last)
	}
	if first.Compare(last) > 0 {
		return ipam.Range{}, fmt.Errorf("range start %s is after its end %s", first, last)
	}
	return ipam.Range{First: first, Last: last}, nil
}

// parseAddr parses one plain IP address.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if err := checkPlainAddr(a); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// checkPlainAddr rejects address forms that have no place in a pool.
func checkPlainAddr(a netip.Addr) error {
	switch {
	case a.Zone() != "":
		return fmt.Errorf("address %s must not have a zone", a)
	case a.Is4In6():
		return fmt.Errorf("address %s is IPv4-mapped IPv6; write it as %s", a, a.Unmap())
	}
	return nil
}

// lastOf returns the last address of a prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// RangePrefixes splits an inclusive range into the fewest aligned prefixes
// that cover exactly its addresses.
func RangePrefixes(r ipam.Range) []netip.Prefix {
	bits := r.First.BitLen()
	cur, last := toInt(r.First), toInt(r.Last)
	one := big.NewInt(1)
	var out []netip.Prefix
	for cur.Cmp(last) <= 0 {
		size := 0 // log2 of the block size
		for size < bits && cur.Bit(size) == 0 {
			end := new(big.Int).Add(cur, new(big.Int).Lsh(one, uint(size+1)))
			if end.Sub(end, one).Cmp(last) > 0 {
				break
			}
			size++
		}
		out = append(out, netip.PrefixFrom(fromInt(cur, bits), bits-size))
		cur.Add(cur, new(big.Int).Lsh(one, uint(size)))
	}
	return out
}

// toInt converts an address to an unsigned integer.
func toInt(a netip.Addr) *big.Int {
	return new(big.Int).SetBytes(a.AsSlice())
}

// fromInt converts an unsigned integer back to an address of the given
// bit length.
func fromInt(i *big.Int, bits int) netip.Addr {
	b := make([]byte, bits/8)
	i.FillBytes(b)
	a, _ := netip.AddrFromSlice(b)
	return a
}
