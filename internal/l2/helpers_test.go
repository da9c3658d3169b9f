package l2

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var (
	ourMAC    = mustMAC("02:00:00:00:00:0a")
	otherMAC  = mustMAC("02:00:00:00:00:0b") // another interface of this host
	peerMAC   = mustMAC("02:00:00:00:00:99") // another node
	clientMAC = mustMAC("02:00:00:00:00:01")
	zeroMAC   = make(net.HardwareAddr, 6)

	svc4    = netip.MustParseAddr("10.0.0.100")
	svc6    = netip.MustParseAddr("fd00::100")
	watch4  = netip.MustParseAddr("10.0.0.101")
	watch6  = netip.MustParseAddr("fd00::101")
	other4  = netip.MustParseAddr("10.0.0.200")
	other6  = netip.MustParseAddr("fd00::200")
	client4 = netip.MustParseAddr("10.0.0.1")
	client6 = netip.MustParseAddr("fd00::1")
	ll      = netip.MustParseAddr("fe80::a")
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// testView announces svc4 and svc6 on eth0 and watches watch4 and watch6.
func testView() *view {
	k, _ := keyOf(ourMAC)
	ok, _ := keyOf(otherMAC)
	return &view{
		ifi:       Interface{Name: "eth0", Index: 2, MAC: ourMAC, HasIPv4: true, HasIPv6: true, LinkLocal: ll, Multicast: true},
		mac:       k,
		announced: ipSet{svc4: {}, svc6: {}},
		watched:   ipSet{watch4: {}, watch6: {}},
		local:     map[macKey]struct{}{k: {}, ok: {}},
	}
}

func ethFrame(t testing.TB, src, dst net.HardwareAddr, et ethernet.EtherType, payload []byte) []byte {
	t.Helper()
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: et, Payload: payload}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func arpBytes(t testing.TB, op arp.Operation, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr, dst net.HardwareAddr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, sha, spa, tha, tpa)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return ethFrame(t, sha, dst, ethernet.EtherTypeARP, pb)
}

func ndpBytes(t testing.TB, src net.HardwareAddr, dst net.HardwareAddr, srcIP, dstIP netip.Addr, hop uint8, m ndp.Message) []byte {
	t.Helper()
	icmp, err := ndp.MarshalMessageChecksum(m, srcIP, dstIP)
	if err != nil {
		t.Fatal(err)
	}
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6], ip[7] = 58, hop
	s, d := srcIP.As16(), dstIP.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	return ethFrame(t, src, dst, ethernet.EtherTypeIPv6, append(ip, icmp...))
}

func nsBytes(t testing.TB, srcMAC net.HardwareAddr, srcIP, target netip.Addr, hop uint8, unicast bool) []byte {
	t.Helper()
	dstIP, dstMAC := solicitedNode(target), multicastMAC(solicitedNode(target))
	if unicast {
		dstIP, dstMAC = target, ourMAC
	}
	var opts []ndp.Option
	if !srcIP.IsUnspecified() {
		opts = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: srcMAC}}
	}
	return ndpBytes(t, srcMAC, dstMAC, srcIP, dstIP, hop, &ndp.NeighborSolicitation{TargetAddress: target, Options: opts})
}

func naBytes(t testing.TB, srcMAC net.HardwareAddr, tlla net.HardwareAddr, target netip.Addr, hop uint8) []byte {
	t.Helper()
	var opts []ndp.Option
	if tlla != nil {
		opts = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: tlla}}
	}
	na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: target, Options: opts}
	return ndpBytes(t, srcMAC, multicastMAC(allNodes), netip.MustParseAddr("fe80::99"), allNodes, hop, na)
}
