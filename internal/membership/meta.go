package membership

import (
	"errors"
	"fmt"
	"net/netip"
)

// Node metadata rides in every alive message (memberlist's NodeMeta). It is
// a format version, a flag byte, then optionally the member's usable
// interface names: a count byte followed by (length byte, name) pairs.
// Versions above 1 must keep the flag byte where it is, so older members
// can still read the flags; decoders ignore what they do not know.
//
// After the names come optional sections, each a tag byte, a length byte
// and that many bytes; unknown tags are skipped. Members of earlier
// versions stop reading after the names, so sections are invisible to
// them. Section addrsTag holds, for each named interface in order, a flag
// byte (metaHasIPv4, metaHasIPv6), a prefix count and the prefixes: a kind
// byte (the length for IPv4, 64 plus the length for IPv6) and the
// prefix's leading bytes (length rounded up to bytes), so a /24 takes 4
// bytes and a /64 9.
const (
	metaVersion        = 1
	metaFlagDraining   = 1 << 0
	metaFlagAnswering  = 1 << 1
	metaFlagRestarting = 1 << 2
	metaLen            = 2
	// maxMetaInterfaces bounds the interface list so the metadata stays
	// well inside memberlist's 512-byte limit (16 × 16 + 3 bytes).
	maxMetaInterfaces = 16
	maxInterfaceName  = 15

	addrsTag     = 1
	metaHasIPv4  = 1 << 0
	metaHasIPv6  = 1 << 1
	kindIPv6     = 64
	maxAddrsSize = 240 // with the names (≤ 259 bytes) and its header, < 512
)

// errBadMeta is returned by decodeMeta for metadata it cannot read.
var errBadMeta = errors.New("bad member metadata")

// InterfaceAddrs is what a member publishes about one of its usable
// interfaces beyond the name: the address families it has and the
// subnets of its global addresses.
type InterfaceAddrs struct {
	// Name is the interface name (cut to 15 bytes).
	Name string
	// IPv4 and IPv6 are true when the interface has an address of the
	// family (for IPv6 a link-local one is enough).
	IPv4, IPv6 bool
	// Prefixes are the subnets of the interface's addresses (masked).
	// Those that do not fit in the metadata are left out.
	Prefixes []netip.Prefix
}

// nodeMeta is what a member tells its peers about itself.
type nodeMeta struct {
	// Draining: the member is stopping; peers re-elect without it while
	// it still answers.
	Draining bool
	// Answering: the member answers for the addresses it owns (it has
	// finished starting).
	Answering bool
	// Restarting: the member stops to be replaced at once (a rolling
	// update); peers keep it in elections for a while after it leaves.
	Restarting bool
	// Interfaces are the member's usable interfaces for L2 announcements,
	// so every member elects among nodes that can answer. Name is always
	// set; the rest only when AddrsKnown.
	Interfaces []InterfaceAddrs
	// AddrsKnown is false for a member that publishes no addresses (one
	// of an earlier version).
	AddrsKnown bool
}

// encodeMeta returns the wire form of m.
func encodeMeta(m nodeMeta) []byte {
	var flags byte
	if m.Draining {
		flags |= metaFlagDraining
	}
	if m.Answering {
		flags |= metaFlagAnswering
	}
	if m.Restarting {
		flags |= metaFlagRestarting
	}
	b := []byte{metaVersion, flags}
	ifaces := m.Interfaces
	if len(ifaces) > maxMetaInterfaces {
		ifaces = ifaces[:maxMetaInterfaces]
	}
	b = append(b, byte(len(ifaces)))
	for _, i := range ifaces {
		n := i.Name
		if len(n) > maxInterfaceName {
			n = n[:maxInterfaceName]
		}
		b = append(b, byte(len(n)))
		b = append(b, n...)
	}
	if m.AddrsKnown {
		b = appendAddrs(b, ifaces)
	}
	return b
}

// appendAddrs appends the addresses section. Prefixes that would take it
// past maxAddrsSize are left out (every interface keeps its two header
// bytes).
func appendAddrs(b []byte, ifaces []InterfaceAddrs) []byte {
	b = append(b, addrsTag, 0)
	start := len(b)
	budget := maxAddrsSize - 2*len(ifaces)
	for _, i := range ifaces {
		var flags byte
		if i.IPv4 {
			flags |= metaHasIPv4
		}
		if i.IPv6 {
			flags |= metaHasIPv6
		}
		b = append(b, flags, 0)
		countAt := len(b) - 1
		for _, p := range i.Prefixes {
			size := 1 + (p.Bits()+7)/8
			if !p.IsValid() || size > budget || b[countAt] == 255 {
				continue
			}
			budget -= size
			b[countAt]++
			b = appendPrefix(b, p)
		}
	}
	b[start-1] = byte(len(b) - start)
	return b
}

// appendPrefix appends one prefix: kind byte, then its leading bytes.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	p = p.Masked()
	kind := byte(p.Bits())
	if p.Addr().Is6() {
		kind += kindIPv6
	}
	return append(append(b, kind), p.Addr().AsSlice()[:(p.Bits()+7)/8]...)
}

// decodeMeta parses metadata from a peer. Unknown flags, sections and
// bytes past what the version defines are ignored, for members running a
// newer version.
func decodeMeta(b []byte) (nodeMeta, error) {
	if len(b) < metaLen {
		return nodeMeta{}, fmt.Errorf("%w: %d bytes, want at least %d", errBadMeta, len(b), metaLen)
	}
	if b[0] == 0 {
		return nodeMeta{}, fmt.Errorf("%w: version 0", errBadMeta)
	}
	m := nodeMeta{Draining: b[1]&metaFlagDraining != 0, Answering: b[1]&metaFlagAnswering != 0,
		Restarting: b[1]&metaFlagRestarting != 0}
	names, rest := decodeNames(b[metaLen:])
	for _, n := range names {
		m.Interfaces = append(m.Interfaces, InterfaceAddrs{Name: n})
	}
	for len(rest) >= 2 {
		tag, n := rest[0], int(rest[1])
		body := rest[2:min(len(rest), 2+n)]
		rest = rest[2+len(body):]
		if tag == addrsTag && !m.AddrsKnown {
			m.AddrsKnown = true
			decodeAddrs(body, m.Interfaces)
		}
	}
	return m, nil
}

// decodeNames reads the optional interface list and returns what follows
// it; a truncated list yields the names read so far and nothing after.
func decodeNames(b []byte) ([]string, []byte) {
	if len(b) == 0 {
		return nil, nil
	}
	count, b := int(b[0]), b[1:]
	var out []string
	for range count {
		if len(b) == 0 || int(b[0]) > len(b)-1 {
			return out, nil
		}
		n := int(b[0])
		out = append(out, string(b[1:1+n]))
		b = b[1+n:]
	}
	return out, b
}

// decodeAddrs fills the families and prefixes of ifaces from an addresses
// section; it stops at the first record it cannot read.
func decodeAddrs(b []byte, ifaces []InterfaceAddrs) {
	for k := range ifaces {
		if len(b) < 2 {
			return
		}
		i := &ifaces[k]
		i.IPv4, i.IPv6 = b[0]&metaHasIPv4 != 0, b[0]&metaHasIPv6 != 0
		count := int(b[1])
		b = b[2:]
		for range count {
			p, n, ok := decodePrefix(b)
			if !ok {
				return
			}
			i.Prefixes = append(i.Prefixes, p)
			b = b[n:]
		}
	}
}

// decodePrefix reads one prefix and the number of bytes it took.
func decodePrefix(b []byte) (netip.Prefix, int, bool) {
	if len(b) == 0 {
		return netip.Prefix{}, 0, false
	}
	bits, size := int(b[0]), 16
	switch {
	case bits <= 32:
		size = 4
	case bits >= kindIPv6 && bits <= kindIPv6+128:
		bits -= kindIPv6
	default:
		return netip.Prefix{}, 0, false
	}
	n := (bits + 7) / 8
	if len(b) < 1+n {
		return netip.Prefix{}, 0, false
	}
	var full [16]byte
	copy(full[:], b[1:1+n])
	a := netip.AddrFrom16(full)
	if size == 4 {
		a = netip.AddrFrom4([4]byte(full[:4]))
	}
	return netip.PrefixFrom(a, bits).Masked(), 1 + n, true
}
