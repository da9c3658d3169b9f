package model

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/internal/ipam"
)

// NodeAddresses is what a Node's status says of its own addresses.
type NodeAddresses struct {
	// Name is the Node's name.
	Name string
	// InternalIPs and ExternalIPs are its InternalIP and ExternalIP
	// addresses.
	InternalIPs, ExternalIPs []netip.Addr
	// Subnets are the subnets of its usable interfaces as its speaker
	// publishes them, when SubnetsKnown; then its subnets' network and
	// broadcast addresses are exact, not inferred from its addresses.
	Subnets      []netip.Prefix
	SubnetsKnown bool
}

// ReservedKind says which part of the network an address belongs to.
type ReservedKind int

// Kinds of reserved addresses, most specific first: when an address is
// reserved for several reasons, the first kind is reported.
const (
	// ReservedNode is a Node's InternalIP or ExternalIP.
	ReservedNode ReservedKind = iota
	// ReservedPeer is a BGPPeer's peerAddress or sourceAddress.
	ReservedPeer
	// ReservedSubnet is the network or broadcast address of a node subnet
	// that contains a range of the pool.
	ReservedSubnet
)

// String returns the kind as a metric label value.
func (k ReservedKind) String() string {
	switch k {
	case ReservedNode:
		return "node"
	case ReservedPeer:
		return "bgp_peer"
	case ReservedSubnet:
		return "subnet"
	}
	return fmt.Sprintf("ReservedKind(%d)", int(k))
}

// Reservation is an address of a pool that the network itself uses, so
// it must never be handed out.
type Reservation struct {
	Addr netip.Addr
	// Pool is the pool whose ranges contain Addr.
	Pool string
	Kind ReservedKind
	// Reason names the object and field, e.g. `InternalIP of Node "n1"`;
	// it completes "IP x is reserved: ...".
	Reason string
	// bits orders subnet candidates: the smallest subnet wins.
	bits int
}

// Reservations lists the addresses of cfg's pools that are a Node's
// InternalIP or ExternalIP, a BGPPeer's peerAddress or sourceAddress, or
// the network or broadcast address of a node subnet that contains a range
// of the pool, one entry per address (the most specific reason), sorted
// by address. It is pure and costs O((nodes + peers) log ranges +
// IPv4 node addresses × IPv4 ranges).
//
// A node whose speaker publishes its subnets (SubnetsKnown) has their
// network and broadcast addresses reserved exactly. For the others (no
// speaker yet, or one of an earlier version) the subnet part reasons
// from addresses alone: a subnet that holds both a pool range R and a
// node address N contains P, the smallest prefix holding both, and its
// network or broadcast address can lie in R only if it is P's first or
// last address and R starts or ends there. Those addresses are reserved
// (IPv4 only, and not for /31 and /32, which have neither); any other
// address of R is no network or broadcast address of such a subnet,
// whatever its length.
func Reservations(cfg *Config, nodes []NodeAddresses) []Reservation {
	idx := newRangeIndex(cfg)
	best := map[netip.Addr]Reservation{}
	add := func(r Reservation) {
		if old, ok := best[r.Addr]; !ok || r.less(old) {
			best[r.Addr] = r
		}
	}
	nodes = sortedByName(nodes, func(n *NodeAddresses) string { return n.Name })
	for _, n := range nodes {
		for _, a := range n.InternalIPs {
			idx.reserve(add, a, ReservedNode, fmt.Sprintf("InternalIP of Node %q", n.Name))
		}
		for _, a := range n.ExternalIPs {
			idx.reserve(add, a, ReservedNode, fmt.Sprintf("ExternalIP of Node %q", n.Name))
		}
	}
	for _, p := range cfg.Peers {
		idx.reserve(add, p.Address, ReservedPeer, fmt.Sprintf("peerAddress of %s %q", kindPeer, p.Name))
		idx.reserve(add, p.SourceAddress, ReservedPeer, fmt.Sprintf("sourceAddress of %s %q", kindPeer, p.Name))
	}
	for _, n := range nodes {
		if n.SubnetsKnown {
			for _, p := range n.Subnets {
				idx.publishedSubnetEnds(add, n.Name, p)
			}
			continue
		}
		for _, a := range slices.Concat(n.InternalIPs, n.ExternalIPs) {
			idx.subnetEnds(add, n.Name, a.Unmap())
		}
	}
	out := make([]Reservation, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Reservation) int { return a.Addr.Compare(b.Addr) })
	return out
}

// less orders the reasons of one address: kind, then smaller subnet, then
// reason text.
func (r Reservation) less(o Reservation) bool {
	return cmp.Or(cmp.Compare(r.Kind, o.Kind), cmp.Compare(o.bits, r.bits), cmp.Compare(r.Reason, o.Reason)) < 0
}

// poolRange is one range of one pool.
type poolRange struct {
	ipam.Range
	pool string
}

// rangeIndex is every pool range, sorted by first address.
type rangeIndex []poolRange

func newRangeIndex(cfg *Config) rangeIndex {
	var idx rangeIndex
	for _, p := range cfg.Pools {
		for _, r := range p.Ranges {
			idx = append(idx, poolRange{Range: ipam.Range{First: r.First.Unmap(), Last: r.Last.Unmap()}, pool: p.Name})
		}
	}
	slices.SortFunc(idx, func(a, b poolRange) int { return a.First.Compare(b.First) })
	return idx
}

// poolOf returns the pool holding a (pools do not overlap), or "".
func (idx rangeIndex) poolOf(a netip.Addr) string {
	i, _ := slices.BinarySearchFunc(idx, a, func(r poolRange, a netip.Addr) int { return r.First.Compare(a) })
	if i < len(idx) && idx[i].First == a {
		return idx[i].pool
	}
	if i > 0 && idx[i-1].Last.Compare(a) >= 0 && idx[i-1].First.BitLen() == a.BitLen() {
		return idx[i-1].pool
	}
	return ""
}

// reserve adds a when it lies in a pool.
func (idx rangeIndex) reserve(add func(Reservation), a netip.Addr, kind ReservedKind, reason string) {
	a = a.Unmap()
	if !a.IsValid() {
		return
	}
	if pool := idx.poolOf(a.WithZone("")); pool != "" {
		add(Reservation{Addr: a.WithZone(""), Pool: pool, Kind: kind, Reason: reason})
	}
}

// subnetEnds adds, for each IPv4 range, the first and last address of the
// smallest prefix holding both the range and the node address n, when the
// range starts or ends there.
func (idx rangeIndex) subnetEnds(add func(Reservation), node string, n netip.Addr) {
	if !n.Is4() {
		return
	}
	for _, r := range idx {
		if !r.First.Is4() {
			continue
		}
		p := smallestPrefix(r.First, r.Last, n)
		if p.Bits() >= 31 {
			continue
		}
		for _, end := range []struct {
			addr netip.Addr
			what string
		}{{p.Addr(), "network"}, {lastOf(p), "broadcast"}} {
			if (end.addr != r.First && end.addr != r.Last) || end.addr == n {
				continue
			}
			add(Reservation{Addr: end.addr, Pool: r.pool, Kind: ReservedSubnet, bits: p.Bits(), Reason: fmt.Sprintf(
				"%s address of %s, the smallest subnet holding both the pool's range %s-%s and Node %q's address %s",
				end.what, p, r.First, r.Last, node, n)})
		}
	}
}

// publishedSubnetEnds adds the network and broadcast addresses of a
// node's IPv4 subnet p (as its speaker publishes it) that lie in a pool.
func (idx rangeIndex) publishedSubnetEnds(add func(Reservation), node string, p netip.Prefix) {
	p = p.Masked()
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return
	}
	for _, end := range []struct {
		addr netip.Addr
		what string
	}{{p.Addr(), "network"}, {lastOf(p), "broadcast"}} {
		if pool := idx.poolOf(end.addr); pool != "" {
			add(Reservation{Addr: end.addr, Pool: pool, Kind: ReservedSubnet, bits: p.Bits(),
				Reason: fmt.Sprintf("%s address of subnet %s of Node %q (as its speaker publishes it)", end.what, p, node)})
		}
	}
}

// smallestPrefix returns the longest IPv4 prefix holding a, b and c.
func smallestPrefix(a, b, c netip.Addr) netip.Prefix {
	x, y, z := u32(a), u32(b), u32(c)
	n := min(bits.LeadingZeros32(x^y), bits.LeadingZeros32(x^z))
	p, _ := a.Prefix(n)
	return p
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
