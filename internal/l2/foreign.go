package l2

import (
	"net"
	"net/netip"
)

// Protocol is the neighbour protocol a frame was seen with.
type Protocol int

// The protocols of ForeignSighting.
const (
	// ProtocolARP is ARP, for IPv4.
	ProtocolARP Protocol = iota + 1
	// ProtocolNDP is IPv6 Neighbor Discovery.
	ProtocolNDP
)

// String returns "arp" or "ndp".
func (p Protocol) String() string {
	switch p {
	case ProtocolARP:
		return "arp"
	case ProtocolNDP:
		return "ndp"
	default:
		return "unknown"
	}
}

// ForeignSighting reports a frame in which another host claims an IP this
// node announces or watches: an ARP packet with that sender IP, or a Neighbor
// Advertisement for that target, from a MAC that is not one of ours. Replies
// sent to other hosts are unicast and rarely seen, so in practice sightings
// come from gratuitous ARPs and unsolicited Neighbor Advertisements, which is
// what a node taking over an IP sends.
type ForeignSighting struct {
	// IP is the claimed address.
	IP netip.Addr
	// Interface is the name of the interface the frame arrived on.
	Interface string
	// MAC is the hardware address the other host claims the IP for.
	MAC net.HardwareAddr
	// Protocol is ARP or NDP.
	Protocol Protocol
}
