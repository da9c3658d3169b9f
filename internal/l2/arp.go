package l2

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// errNotARP is returned by parseARP for frames that are not Ethernet/IPv4 ARP.
var errNotARP = errors.New("not an Ethernet/IPv4 ARP packet")

// arpFrame is a parsed ARP frame with the Ethernet addresses it came with.
type arpFrame struct {
	ethDst, ethSrc net.HardwareAddr
	packet         arp.Packet
}

// parseARP parses an Ethernet frame carrying an ARP packet for IPv4 over
// Ethernet (RFC 826: hardware type 1, 6-byte MACs, 4-byte addresses).
func parseARP(b []byte) (arpFrame, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return arpFrame{}, fmt.Errorf("parse Ethernet header: %w", err)
	}
	if f.EtherType != ethernet.EtherTypeARP {
		return arpFrame{}, errNotARP
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return arpFrame{}, fmt.Errorf("parse ARP packet: %w", err)
	}
	if p.HardwareType != 1 || p.ProtocolType != uint16(ethernet.EtherTypeIPv4) ||
		p.HardwareAddrLength != 6 || p.IPLength != 4 {
		return arpFrame{}, errNotARP
	}
	return arpFrame{ethDst: f.Destination, ethSrc: f.Source, packet: p}, nil
}

// decision is what a responder does about one received frame.
type decision struct {
	// reply is true when the frame is a request to answer.
	reply bool
	// foreign is set when another host claims an IP we announce or watch.
	foreign *ForeignSighting
}

// decideARP decides about an ARP frame. Our own frames are ignored. A
// request for an announced IP is answered, unless it is a gratuitous ARP
// (sender IP = target IP), which is a claim, not a question. Probes (sender
// IP 0.0.0.0) are answered, defending the address. Any frame in which another
// MAC claims an announced or watched IP is a foreign sighting.
func decideARP(v *view, f arpFrame) decision {
	p := f.packet
	if v.isLocal(f.ethSrc) || v.isLocal(p.SenderHardwareAddr) {
		return decision{}
	}
	var d decision
	if p.SenderIP.IsValid() && !p.SenderIP.IsUnspecified() && v.tracks(p.SenderIP) {
		d.foreign = &ForeignSighting{
			IP: p.SenderIP, Interface: v.ifi.Name, MAC: cloneMAC(p.SenderHardwareAddr), Protocol: ProtocolARP,
		}
	}
	d.reply = p.Operation == arp.OperationRequest && p.SenderIP != p.TargetIP &&
		v.answers(p.TargetIP) && v.acceptsDst(f.ethDst)
	return d
}

// arpReply builds the unicast reply frame to request f from the interface
// with MAC mac.
func arpReply(mac net.HardwareAddr, f arpFrame) ([]byte, net.HardwareAddr, error) {
	req := f.packet
	p, err := arp.NewPacket(arp.OperationReply, mac, req.TargetIP, req.SenderHardwareAddr, req.SenderIP)
	if err != nil {
		return nil, nil, fmt.Errorf("build ARP reply for %s: %w", req.TargetIP, err)
	}
	b, err := arpEthernet(mac, req.SenderHardwareAddr, p)
	return b, req.SenderHardwareAddr, err
}

// gratuitousARP builds the two broadcast frames that announce ip at mac: an
// ARP announcement (RFC 5227 request form, target MAC zero) and a reply form
// with target MAC = sender MAC, which Linux also treats as gratuitous and
// which some older equipment only learns from. Both have sender IP = target
// IP = ip, so clients overwrite an existing neighbour entry at once.
func gratuitousARP(mac net.HardwareAddr, ip netip.Addr) ([][]byte, error) {
	zero := make(net.HardwareAddr, 6)
	var frames [][]byte
	for _, form := range []struct {
		op  arp.Operation
		tha net.HardwareAddr
	}{{arp.OperationRequest, zero}, {arp.OperationReply, mac}} {
		p, err := arp.NewPacket(form.op, mac, ip, form.tha, ip)
		if err != nil {
			return nil, fmt.Errorf("build gratuitous ARP for %s: %w", ip, err)
		}
		b, err := arpEthernet(mac, ethernet.Broadcast, p)
		if err != nil {
			return nil, err
		}
		frames = append(frames, b)
	}
	return frames, nil
}

// arpEthernet wraps an ARP packet in an Ethernet frame.
func arpEthernet(src, dst net.HardwareAddr, p *arp.Packet) ([]byte, error) {
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal ARP packet: %w", err)
	}
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: ethernet.EtherTypeARP, Payload: pb}
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal Ethernet frame: %w", err)
	}
	return b, nil
}

func cloneMAC(m net.HardwareAddr) net.HardwareAddr {
	return append(net.HardwareAddr(nil), m...)
}
