package l2test

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Frame summarises an ARP or NDP frame for assertions.
type Frame struct {
	// Kind is "arp-request", "arp-reply", "ns", "na" or "other".
	Kind string
	// EthSrc and EthDst are the Ethernet addresses.
	EthSrc, EthDst string
	// IP is the ARP sender IP or the NDP target address.
	IP netip.Addr
	// TargetIP is the ARP target IP; for NDP the IPv6 destination.
	TargetIP netip.Addr
	// MAC is the ARP sender MAC or the NA's target link-layer address.
	MAC string
	// Solicited and Override are the NA flags.
	Solicited, Override bool
	// HopLimit is the IPv6 hop limit.
	HopLimit uint8
}

// Decode summarises a frame; frames it does not understand have Kind "other".
func Decode(b []byte) Frame {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return Frame{Kind: "other"}
	}
	out := Frame{Kind: "other", EthSrc: f.Source.String(), EthDst: f.Destination.String()}
	switch f.EtherType {
	case ethernet.EtherTypeARP:
		var p arp.Packet
		if p.UnmarshalBinary(f.Payload) != nil {
			return out
		}
		out.Kind = map[arp.Operation]string{arp.OperationRequest: "arp-request", arp.OperationReply: "arp-reply"}[p.Operation]
		out.IP, out.TargetIP, out.MAC = p.SenderIP, p.TargetIP, p.SenderHardwareAddr.String()
	case ethernet.EtherTypeIPv6:
		decodeNDP(f.Payload, &out)
	}
	return out
}

func decodeNDP(p []byte, out *Frame) {
	if len(p) < 40 || p[6] != 58 {
		return
	}
	out.HopLimit = p[7]
	out.TargetIP = netip.AddrFrom16([16]byte(p[24:40]))
	m, err := ndp.ParseMessage(p[40:])
	if err != nil {
		return
	}
	switch m := m.(type) {
	case *ndp.NeighborSolicitation:
		out.Kind, out.IP = "ns", m.TargetAddress
	case *ndp.NeighborAdvertisement:
		out.Kind, out.IP, out.Solicited, out.Override = "na", m.TargetAddress, m.Solicited, m.Override
		for _, o := range m.Options {
			if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
				out.MAC = lla.Addr.String()
			}
		}
	}
}

// ARPRequest builds a broadcast ARP request from mac/ip for target.
func ARPRequest(mac string, ip, target netip.Addr) []byte {
	return arpFrame(arp.OperationRequest, mustMAC(mac), ip, make(net.HardwareAddr, 6), target, ethernet.Broadcast)
}

// GratuitousARP builds a broadcast ARP announcement of ip at mac.
func GratuitousARP(mac string, ip netip.Addr) []byte {
	return arpFrame(arp.OperationRequest, mustMAC(mac), ip, make(net.HardwareAddr, 6), ip, ethernet.Broadcast)
}

func arpFrame(op arp.Operation, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr, dst net.HardwareAddr) []byte {
	p, err := arp.NewPacket(op, sha, spa, tha, tpa)
	if err != nil {
		panic(fmt.Sprintf("l2test: ARP packet: %v", err))
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return ether(sha, dst, ethernet.EtherTypeARP, pb)
}

// NeighborSolicitation builds an NS for target from mac/src (src may be ::
// for duplicate address detection) to dst, with the given hop limit. dst is
// usually the target's solicited-node group; the Ethernet destination follows
// dst (33:33:… for multicast, dstMAC otherwise).
func NeighborSolicitation(mac string, src, dst, target netip.Addr, dstMAC string, hopLimit uint8) []byte {
	var opts []ndp.Option
	if !src.IsUnspecified() {
		opts = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: mustMAC(mac)}}
	}
	return ipv6Frame(mac, src, dst, dstMAC, hopLimit, &ndp.NeighborSolicitation{TargetAddress: target, Options: opts})
}

// UnsolicitedNA builds an NA with Override for target at mac, to all-nodes.
func UnsolicitedNA(mac string, src, target netip.Addr) []byte {
	na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: target,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mustMAC(mac)}}}
	return ipv6Frame(mac, src, netip.MustParseAddr("ff02::1"), "", 255, na)
}

func ipv6Frame(mac string, src, dst netip.Addr, dstMAC string, hopLimit uint8, m ndp.Message) []byte {
	icmp, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		panic(fmt.Sprintf("l2test: NDP message: %v", err))
	}
	ip := make([]byte, 40, 40+len(icmp))
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6], ip[7] = 58, hopLimit
	s, d := src.As16(), dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	ethDst := net.HardwareAddr{0x33, 0x33, d[12], d[13], d[14], d[15]}
	if !dst.IsMulticast() {
		ethDst = mustMAC(dstMAC)
	}
	return ether(mustMAC(mac), ethDst, ethernet.EtherTypeIPv6, append(ip, icmp...))
}

func ether(src, dst net.HardwareAddr, et ethernet.EtherType, payload []byte) []byte {
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: et, Payload: payload}
	b, err := f.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}
