package l2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

const (
	ipv6HeaderLen = 40
	protoICMPv6   = 58
	// ndpHopLimit is the hop limit of every NDP message (RFC 4861 §7.1):
	// anything else was forwarded by a router and is invalid.
	ndpHopLimit = 255
)

var (
	// errNotNDP is returned by parseNDP for frames that are not IPv6
	// Neighbor Solicitations or Advertisements.
	errNotNDP = errors.New("not an IPv6 neighbour discovery frame")
	// errChecksum is returned for an ICMPv6 message with a bad checksum.
	errChecksum = errors.New("bad ICMPv6 checksum")

	// allNodes is the all-nodes multicast group, ff02::1.
	allNodes = netip.MustParseAddr("ff02::1")
)

// ndpFrame is a parsed Neighbor Solicitation or Advertisement with the
// Ethernet and IPv6 header fields a responder needs.
type ndpFrame struct {
	ethDst, ethSrc net.HardwareAddr
	src, dst       netip.Addr
	hopLimit       uint8
	// ns or na is set, according to the message type.
	ns *ndp.NeighborSolicitation
	na *ndp.NeighborAdvertisement
}

// parseNDP parses an Ethernet frame carrying an IPv6 packet whose next
// header is ICMPv6 (no extension headers, as NDP senders use none) with a
// valid checksum and a Neighbor Solicitation or Advertisement in it.
func parseNDP(b []byte) (ndpFrame, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return ndpFrame{}, fmt.Errorf("parse Ethernet header: %w", err)
	}
	if f.EtherType != ethernet.EtherTypeIPv6 {
		return ndpFrame{}, errNotNDP
	}
	p := f.Payload
	if len(p) < ipv6HeaderLen || p[0]>>4 != 6 || p[6] != protoICMPv6 {
		return ndpFrame{}, errNotNDP
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if len(p) < ipv6HeaderLen+plen {
		return ndpFrame{}, fmt.Errorf("IPv6 payload length %d beyond frame: %w", plen, errNotNDP)
	}
	out := ndpFrame{
		ethDst: f.Destination, ethSrc: f.Source, hopLimit: p[7],
		src: netip.AddrFrom16([16]byte(p[8:24])), dst: netip.AddrFrom16([16]byte(p[24:40])),
	}
	icmp := p[ipv6HeaderLen : ipv6HeaderLen+plen]
	if len(icmp) < 4 || (icmp[0] != 135 && icmp[0] != 136) {
		return ndpFrame{}, errNotNDP
	}
	if checksum(out.src, out.dst, icmp) != 0 {
		return ndpFrame{}, errChecksum
	}
	return out, out.setMessage(icmp)
}

// setMessage parses the ICMPv6 message into ns or na.
func (f *ndpFrame) setMessage(icmp []byte) error {
	m, err := ndp.ParseMessage(icmp)
	if err != nil {
		return fmt.Errorf("parse NDP message: %w", err)
	}
	switch m := m.(type) {
	case *ndp.NeighborSolicitation:
		f.ns = m
	case *ndp.NeighborAdvertisement:
		f.na = m
	default:
		return errNotNDP
	}
	return nil
}

// checksum computes the ICMPv6 checksum (RFC 4443 §2.3) over the IPv6
// pseudo-header and msg. For a message that carries a correct checksum the
// result is 0.
func checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(msg)) + protoICMPv6
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// decideNDP decides about a Neighbor Solicitation or Advertisement. Our own
// frames and frames with a hop limit other than 255 are ignored. A
// solicitation for an announced IP is answered; an advertisement for an
// announced or watched IP from another MAC is a foreign sighting.
func decideNDP(v *view, f ndpFrame) decision {
	if v.isLocal(f.ethSrc) || f.hopLimit != ndpHopLimit {
		return decision{}
	}
	switch {
	case f.ns != nil:
		return decision{reply: v.answers(f.ns.TargetAddress) && v.acceptsDst(f.ethDst)}
	case f.na != nil && v.tracks(f.na.TargetAddress):
		mac := targetLinkLayer(f.na)
		if mac == nil {
			mac = f.ethSrc
		}
		if v.isLocal(mac) {
			return decision{}
		}
		return decision{foreign: &ForeignSighting{
			IP: f.na.TargetAddress, Interface: v.ifi.Name, MAC: cloneMAC(mac), Protocol: ProtocolNDP,
		}}
	}
	return decision{}
}

// targetLinkLayer returns the Target Link-Layer Address option of na, if any.
func targetLinkLayer(na *ndp.NeighborAdvertisement) net.HardwareAddr {
	for _, o := range na.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
			return lla.Addr
		}
	}
	return nil
}

// ndpReply builds the Neighbor Advertisement answering solicitation f on
// ifi. A solicitation from the unspecified address (duplicate address
// detection) is answered to all-nodes with Solicited clear (RFC 4861
// §7.2.4); any other goes back to the sender with Solicited set.
func ndpReply(ifi Interface, f ndpFrame) ([]byte, net.HardwareAddr, error) {
	target := f.ns.TargetAddress
	if f.src.IsUnspecified() {
		return neighborAdvert(ifi, target, allNodes, multicastMAC(allNodes), false)
	}
	return neighborAdvert(ifi, target, f.src, f.ethSrc, true)
}

// unsolicitedNA builds the advertisement sent to all-nodes when ip is taken
// over or refreshed: Override set and Solicited clear, so that neighbours
// replace the MAC they have for ip (RFC 4861 §7.2.6).
func unsolicitedNA(ifi Interface, ip netip.Addr) ([]byte, error) {
	b, _, err := neighborAdvert(ifi, ip, allNodes, multicastMAC(allNodes), false)
	return b, err
}

// neighborAdvert builds an Ethernet frame with a Neighbor Advertisement for
// target with Override set and our MAC as Target Link-Layer Address. It is
// sourced from the interface's link-local address, or from target when the
// interface has none that passed duplicate address detection.
func neighborAdvert(ifi Interface, target, dst netip.Addr, dstMAC net.HardwareAddr, solicited bool) ([]byte, net.HardwareAddr, error) {
	src := ifi.LinkLocal
	if !src.IsValid() {
		src = target
	}
	na := &ndp.NeighborAdvertisement{
		Solicited:     solicited,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.MAC}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, src, dst)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal neighbour advertisement for %s: %w", target, err)
	}
	f := ethernet.Frame{
		Destination: dstMAC, Source: ifi.MAC, EtherType: ethernet.EtherTypeIPv6,
		Payload: ipv6Packet(src, dst, icmp),
	}
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("marshal Ethernet frame: %w", err)
	}
	return b, dstMAC, nil
}

// ipv6Packet prepends an IPv6 header for an ICMPv6 NDP payload.
func ipv6Packet(src, dst netip.Addr, payload []byte) []byte {
	b := make([]byte, ipv6HeaderLen, ipv6HeaderLen+len(payload))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
	b[6] = protoICMPv6
	b[7] = ndpHopLimit
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return append(b, payload...)
}

// multicastMAC maps an IPv6 multicast group to its Ethernet address,
// 33:33 followed by the group's last four bytes (RFC 2464 §7).
func multicastMAC(group netip.Addr) net.HardwareAddr {
	g := group.As16()
	return net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
}

// solicitedNode returns the solicited-node multicast group of an IPv6
// address: ff02::1:ff00:0/104 followed by its low 24 bits (RFC 4291 §2.7.1).
func solicitedNode(ip netip.Addr) netip.Addr {
	a := ip.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]})
}
