package l2

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestDecideNDP(t *testing.T) {
	unspec := netip.IPv6Unspecified()
	tests := []struct {
		name        string
		frame       []byte
		wantReply   bool
		wantForeign *ForeignSighting
	}{
		{name: "multicast NS for announced IP", frame: nsBytes(t, clientMAC, client6, svc6, 255, false), wantReply: true},
		{name: "unicast NUD NS", frame: nsBytes(t, clientMAC, client6, svc6, 255, true), wantReply: true},
		{name: "DAD NS from ::", frame: nsBytes(t, clientMAC, unspec, svc6, 255, false), wantReply: true},
		{name: "hop limit 64 is invalid", frame: nsBytes(t, clientMAC, client6, svc6, 64, false)},
		{name: "NS for other IP", frame: nsBytes(t, clientMAC, client6, other6, 255, false)},
		{name: "NS for watched IP", frame: nsBytes(t, clientMAC, client6, watch6, 255, false)},
		{name: "our own NS", frame: nsBytes(t, ourMAC, client6, svc6, 255, false)},
		{name: "NS from our other interface", frame: nsBytes(t, otherMAC, client6, svc6, 255, false)},
		{
			name:        "foreign NA for announced IP",
			frame:       naBytes(t, peerMAC, peerMAC, svc6, 255),
			wantForeign: &ForeignSighting{IP: svc6, Interface: "eth0", MAC: peerMAC, Protocol: ProtocolNDP},
		},
		{
			name:        "foreign NA without TLLA uses Ethernet source",
			frame:       naBytes(t, peerMAC, nil, watch6, 255),
			wantForeign: &ForeignSighting{IP: watch6, Interface: "eth0", MAC: peerMAC, Protocol: ProtocolNDP},
		},
		{name: "NA claiming our other MAC via proxy", frame: naBytes(t, peerMAC, otherMAC, svc6, 255)},
		{name: "our own NA comes back", frame: naBytes(t, ourMAC, ourMAC, svc6, 255)},
		{name: "foreign NA with bad hop limit", frame: naBytes(t, peerMAC, peerMAC, svc6, 1)},
		{name: "foreign NA for untracked IP", frame: naBytes(t, peerMAC, peerMAC, other6, 255)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseNDP(tt.frame)
			if err != nil {
				t.Fatalf("parseNDP: %v", err)
			}
			d := decideNDP(testView(), f)
			if d.reply != tt.wantReply {
				t.Errorf("reply = %v, want %v", d.reply, tt.wantReply)
			}
			if diff := cmp.Diff(tt.wantForeign, d.foreign, addrCmp); diff != "" {
				t.Errorf("foreign (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNDPRejects(t *testing.T) {
	good := nsBytes(t, clientMAC, client6, svc6, 255, false)
	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-1] ^= 0xff
	truncated := append([]byte(nil), good...)
	truncated[18] = 0xff // payload length beyond the frame
	rs := ndpBytes(t, clientMAC, multicastMAC(allNodes), client6, allNodes, 255, &ndp.RouterSolicitation{})
	tests := []struct {
		name  string
		frame []byte
	}{
		{name: "empty", frame: nil},
		{name: "ARP frame", frame: ethFrame(t, clientMAC, ourMAC, ethernet.EtherTypeARP, make([]byte, 46))},
		{name: "short IPv6", frame: good[:40]},
		{name: "bad checksum", frame: badSum},
		{name: "payload length", frame: truncated},
		{name: "router solicitation", frame: rs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseNDP(tt.frame); err == nil {
				t.Errorf("parseNDP accepted %x", tt.frame)
			}
		})
	}
}

func TestNDPReply(t *testing.T) {
	ifi := testView().ifi
	noLL := ifi
	noLL.LinkLocal = netip.Addr{}
	tests := []struct {
		name string
		ifi  Interface
		ns   []byte
		want ndpSummary
	}{
		{
			name: "solicited reply to sender",
			ifi:  ifi, ns: nsBytes(t, clientMAC, client6, svc6, 255, false),
			want: ndpSummary{EthDst: clientMAC.String(), Src: ll, Dst: client6, Target: svc6, Solicited: true, Override: true, TLLA: ourMAC.String()},
		},
		{
			name: "DAD answered to all-nodes",
			ifi:  ifi, ns: nsBytes(t, clientMAC, netip.IPv6Unspecified(), svc6, 255, false),
			want: ndpSummary{EthDst: "33:33:00:00:00:01", Src: ll, Dst: allNodes, Target: svc6, Override: true, TLLA: ourMAC.String()},
		},
		{
			name: "no link-local: sourced from target",
			ifi:  noLL, ns: nsBytes(t, clientMAC, client6, svc6, 255, true),
			want: ndpSummary{EthDst: clientMAC.String(), Src: svc6, Dst: client6, Target: svc6, Solicited: true, Override: true, TLLA: ourMAC.String()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseNDP(tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			b, dst, err := ndpReply(tt.ifi, req)
			if err != nil {
				t.Fatal(err)
			}
			got := summarizeNDP(t, b)
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
			if dst.String() != tt.want.EthDst {
				t.Errorf("write address %s, want %s", dst, tt.want.EthDst)
			}
		})
	}
}

func TestUnsolicitedNA(t *testing.T) {
	b, err := unsolicitedNA(testView().ifi, svc6)
	if err != nil {
		t.Fatal(err)
	}
	want := ndpSummary{EthDst: "33:33:00:00:00:01", Src: ll, Dst: allNodes, Target: svc6, Override: true, TLLA: ourMAC.String()}
	if diff := cmp.Diff(want, summarizeNDP(t, b), addrCmp); diff != "" {
		t.Errorf("NA (-want +got):\n%s", diff)
	}
}

func TestSolicitedNode(t *testing.T) {
	tests := map[string]string{
		"fd00::100":           "ff02::1:ff00:100",
		"2001:db8::abcd:1234": "ff02::1:ffcd:1234",
		"fe80::1":             "ff02::1:ff00:1",
	}
	for in, want := range tests {
		ip := netip.MustParseAddr(in)
		if got := solicitedNode(ip); got.String() != want {
			t.Errorf("solicitedNode(%s) = %s, want %s", in, got, want)
		}
		lib, _ := ndp.SolicitedNodeMulticast(ip)
		if got := solicitedNode(ip); got != lib {
			t.Errorf("solicitedNode(%s) = %s, ndp says %s", in, got, lib)
		}
	}
	if got := multicastMAC(netip.MustParseAddr("ff02::1:ffcd:1234")).String(); got != "33:33:ff:cd:12:34" {
		t.Errorf("multicastMAC = %s, want 33:33:ff:cd:12:34", got)
	}
}

type ndpSummary struct {
	EthDst              string
	Src, Dst, Target    netip.Addr
	Solicited, Override bool
	TLLA                string
}

func summarizeNDP(t *testing.T, b []byte) ndpSummary {
	t.Helper()
	f, err := parseNDP(b)
	if err != nil {
		t.Fatalf("built frame does not parse: %v", err)
	}
	if f.na == nil || f.hopLimit != 255 || f.ethSrc.String() != ourMAC.String() {
		t.Fatalf("built frame is not an NA from us with hop limit 255: %+v", f)
	}
	return ndpSummary{
		EthDst: f.ethDst.String(), Src: f.src, Dst: f.dst, Target: f.na.TargetAddress,
		Solicited: f.na.Solicited, Override: f.na.Override, TLLA: targetLinkLayer(f.na).String(),
	}
}

// FuzzParseNDP feeds arbitrary frames through the parser, the decision and
// the reply builder: none may panic, and a built reply must parse back.
func FuzzParseNDP(f *testing.F) {
	f.Add(nsBytes(f, clientMAC, client6, svc6, 255, false))
	f.Add(nsBytes(f, clientMAC, netip.IPv6Unspecified(), svc6, 255, false))
	f.Add(naBytes(f, peerMAC, peerMAC, svc6, 255))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzNDP(t, b)
		// Random bytes rarely carry a valid checksum: also try with the
		// checksum fixed, so the fuzzer reaches the message parser.
		fuzzNDP(t, withChecksum(b))
	})
}

// withChecksum returns a copy of an Ethernet/IPv6/ICMPv6 frame with the
// ICMPv6 checksum set, or b when it is too short to carry one.
func withChecksum(b []byte) []byte {
	const icmpAt = 14 + ipv6HeaderLen
	if len(b) < icmpAt+4 {
		return b
	}
	c := append([]byte(nil), b...)
	plen := int(c[18])<<8 | int(c[19])
	if icmpAt+plen > len(c) || plen < 4 {
		return b
	}
	c[icmpAt+2], c[icmpAt+3] = 0, 0
	src, dst := netip.AddrFrom16([16]byte(c[22:38])), netip.AddrFrom16([16]byte(c[38:54]))
	sum := checksum(src, dst, c[icmpAt:icmpAt+plen])
	c[icmpAt+2], c[icmpAt+3] = byte(sum>>8), byte(sum)
	return c
}

func fuzzNDP(t *testing.T, b []byte) {
	fr, err := parseNDP(b)
	if err != nil {
		return
	}
	d := decideNDP(testView(), fr)
	if !d.reply {
		return
	}
	reply, _, err := ndpReply(testView().ifi, fr)
	if err != nil {
		return
	}
	if _, err := parseNDP(reply); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
}

// BenchmarkNeighborSolicitation measures the per-request work of a
// responder: parse (with checksum), decide, build the advertisement.
func BenchmarkNeighborSolicitation(b *testing.B) {
	frame := nsBytes(b, clientMAC, client6, svc6, 255, false)
	v := testView()
	b.ReportAllocs()
	for b.Loop() {
		f, err := parseNDP(frame)
		if err != nil {
			b.Fatal(err)
		}
		if d := decideNDP(v, f); d.reply {
			if _, _, err := ndpReply(v.ifi, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}
