package l2

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

var bcast = ethernet.Broadcast

func TestDecideARP(t *testing.T) {
	tests := []struct {
		name        string
		frame       []byte
		wantReply   bool
		wantForeign *ForeignSighting
	}{
		{name: "request for announced IP", frame: arpBytes(t, arp.OperationRequest, clientMAC, client4, zeroMAC, svc4, bcast), wantReply: true},
		{name: "unicast NUD request to our MAC", frame: arpBytes(t, arp.OperationRequest, clientMAC, client4, ourMAC, svc4, ourMAC), wantReply: true},
		{name: "unicast request to another MAC", frame: arpBytes(t, arp.OperationRequest, clientMAC, client4, peerMAC, svc4, peerMAC)},
		{name: "probe from 0.0.0.0 is defended", frame: arpBytes(t, arp.OperationRequest, clientMAC, netip.IPv4Unspecified(), zeroMAC, svc4, bcast), wantReply: true},
		{name: "request for other IP", frame: arpBytes(t, arp.OperationRequest, clientMAC, client4, zeroMAC, other4, bcast)},
		{name: "request for watched IP is not answered", frame: arpBytes(t, arp.OperationRequest, clientMAC, client4, zeroMAC, watch4, bcast)},
		{name: "our own request comes back", frame: arpBytes(t, arp.OperationRequest, ourMAC, client4, zeroMAC, svc4, bcast)},
		{name: "request from our other interface", frame: arpBytes(t, arp.OperationRequest, otherMAC, client4, zeroMAC, svc4, bcast)},
		{name: "reply to us is ignored", frame: arpBytes(t, arp.OperationReply, clientMAC, client4, ourMAC, svc4, ourMAC)},
		{
			name:        "foreign gratuitous request for announced IP",
			frame:       arpBytes(t, arp.OperationRequest, peerMAC, svc4, zeroMAC, svc4, bcast),
			wantForeign: &ForeignSighting{IP: svc4, Interface: "eth0", MAC: peerMAC, Protocol: ProtocolARP},
		},
		{
			name:        "foreign gratuitous reply for watched IP",
			frame:       arpBytes(t, arp.OperationReply, peerMAC, watch4, peerMAC, watch4, bcast),
			wantForeign: &ForeignSighting{IP: watch4, Interface: "eth0", MAC: peerMAC, Protocol: ProtocolARP},
		},
		{
			name:        "request sourced from announced IP by another MAC is reported",
			frame:       arpBytes(t, arp.OperationRequest, peerMAC, svc4, zeroMAC, client4, bcast),
			wantForeign: &ForeignSighting{IP: svc4, Interface: "eth0", MAC: peerMAC, Protocol: ProtocolARP},
		},
		{name: "our own gratuitous comes back", frame: arpBytes(t, arp.OperationRequest, ourMAC, svc4, zeroMAC, svc4, bcast)},
		{name: "gratuitous for untracked IP", frame: arpBytes(t, arp.OperationRequest, peerMAC, other4, zeroMAC, other4, bcast)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseARP(tt.frame)
			if err != nil {
				t.Fatalf("parseARP: %v", err)
			}
			d := decideARP(testView(), f)
			if d.reply != tt.wantReply {
				t.Errorf("reply = %v, want %v", d.reply, tt.wantReply)
			}
			if diff := cmp.Diff(tt.wantForeign, d.foreign, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("foreign (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseARPRejects(t *testing.T) {
	ipv4Payload := ethFrame(t, clientMAC, bcast, ethernet.EtherTypeIPv4, make([]byte, 46))
	good := arpBytes(t, arp.OperationRequest, clientMAC, client4, zeroMAC, svc4, bcast)
	badHType := append([]byte(nil), good...)
	badHType[15] = 6 // hardware type 6 (IEEE 802)
	tests := []struct {
		name  string
		frame []byte
	}{
		{name: "empty", frame: nil},
		{name: "short", frame: good[:20]},
		{name: "IPv4 frame", frame: ipv4Payload},
		{name: "hardware type", frame: badHType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseARP(tt.frame); err == nil {
				t.Errorf("parseARP accepted %x", tt.frame)
			}
		})
	}
}

func TestARPReply(t *testing.T) {
	f, err := parseARP(arpBytes(t, arp.OperationRequest, clientMAC, client4, zeroMAC, svc4, bcast))
	if err != nil {
		t.Fatal(err)
	}
	b, dst, err := arpReply(ourMAC, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseARP(b)
	if err != nil {
		t.Fatal(err)
	}
	want := arpSummary{
		EthSrc: ourMAC.String(), EthDst: clientMAC.String(), Op: arp.OperationReply,
		SHA: ourMAC.String(), SPA: svc4, THA: clientMAC.String(), TPA: client4,
	}
	if diff := cmp.Diff(want, summarize(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	if dst.String() != clientMAC.String() {
		t.Errorf("destination %s, want %s", dst, clientMAC)
	}
}

func TestGratuitousARP(t *testing.T) {
	frames, err := gratuitousARP(ourMAC, svc4)
	if err != nil {
		t.Fatal(err)
	}
	var got []arpSummary
	for _, b := range frames {
		f, err := parseARP(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, summarize(f))
	}
	bc := net.HardwareAddr(bcast).String()
	want := []arpSummary{
		{EthSrc: ourMAC.String(), EthDst: bc, Op: arp.OperationRequest, SHA: ourMAC.String(), SPA: svc4, THA: zeroMAC.String(), TPA: svc4},
		{EthSrc: ourMAC.String(), EthDst: bc, Op: arp.OperationReply, SHA: ourMAC.String(), SPA: svc4, THA: ourMAC.String(), TPA: svc4},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("gratuitous ARP (-want +got):\n%s", diff)
	}
}

type arpSummary struct {
	EthSrc, EthDst string
	Op             arp.Operation
	SHA            string
	SPA            netip.Addr
	THA            string
	TPA            netip.Addr
}

func summarize(f arpFrame) arpSummary {
	p := f.packet
	return arpSummary{
		EthSrc: f.ethSrc.String(), EthDst: f.ethDst.String(), Op: p.Operation,
		SHA: p.SenderHardwareAddr.String(), SPA: p.SenderIP, THA: p.TargetHardwareAddr.String(), TPA: p.TargetIP,
	}
}

// FuzzParseARP feeds arbitrary frames through the parser, the decision and
// the reply builder: none may panic, and a built reply must parse back.
func FuzzParseARP(f *testing.F) {
	f.Add(arpBytes(f, arp.OperationRequest, clientMAC, client4, zeroMAC, svc4, bcast))
	f.Add(arpBytes(f, arp.OperationReply, peerMAC, svc4, peerMAC, svc4, bcast))
	f.Add(arpBytes(f, arp.OperationRequest, clientMAC, netip.IPv4Unspecified(), zeroMAC, svc4, bcast))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseARP(b)
		if err != nil {
			return
		}
		d := decideARP(testView(), fr)
		if !d.reply {
			return
		}
		reply, _, err := arpReply(ourMAC, fr)
		if err != nil {
			return // e.g. malformed sender fields in the request
		}
		if _, err := parseARP(reply); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}

// BenchmarkARPRequest measures the per-request work of a responder: parse,
// decide, build the reply.
func BenchmarkARPRequest(b *testing.B) {
	frame := arpBytes(b, arp.OperationRequest, clientMAC, client4, zeroMAC, svc4, bcast)
	v := testView()
	b.ReportAllocs()
	for b.Loop() {
		f, err := parseARP(frame)
		if err != nil {
			b.Fatal(err)
		}
		if d := decideARP(v, f); d.reply {
			if _, _, err := arpReply(ourMAC, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}
