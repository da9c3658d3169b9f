package bgp

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

func TestAPIPeer(t *testing.T) {
	p := np("r1", func(p *PeerConfig) {
		p.Port, p.Password, p.GracefulRestart = 1179, "k", true
		p.SourceAddress = netip.MustParseAddr("10.0.0.1")
		p.IPv6NextHop = addr6
		p.HoldTime, p.KeepaliveTime, p.ConnectTime = 9*time.Second, 3*time.Second, 5*time.Second
		p.BFD = &BFDConfig{ReceiveInterval: 100 * time.Millisecond, TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 5}
	})
	got := apiPeer(p, p.Address, true)
	type summary struct {
		Addr, Password, Local   string
		LocalASN, PeerASN, Port uint32
		Hold, Keepalive, Retry  uint64
		Families                []string
		GR                      bool
		GRTime, Deferral        uint32
		Restarting, Multihop    bool
		BFDRx, BFDTx, BFDMult   uint32
	}
	s := summary{
		Addr: got.Conf.NeighborAddress, Password: got.Conf.AuthPassword, Local: got.Transport.LocalAddress,
		LocalASN: got.Conf.LocalAsn, PeerASN: got.Conf.PeerAsn, Port: got.Transport.RemotePort,
		Hold: got.Timers.Config.HoldTime, Keepalive: got.Timers.Config.KeepaliveInterval, Retry: got.Timers.Config.ConnectRetry,
		GR: got.GracefulRestart.Enabled, GRTime: got.GracefulRestart.RestartTime, Deferral: got.GracefulRestart.DeferralTime,
		Restarting: got.GracefulRestart.LocalRestarting, Multihop: got.EbgpMultihop != nil,
		BFDRx: got.Bfd.RequiredMinimumReceive, BFDTx: got.Bfd.DesiredMinimumTxInterval, BFDMult: got.Bfd.DetectionMultiplier,
	}
	for _, as := range got.AfiSafis {
		f := as.Config.Family.Afi.String()
		if as.MpGracefulRestart.GetConfig().GetEnabled() {
			f += "+gr"
		}
		s.Families = append(s.Families, f)
	}
	want := summary{
		Addr: "10.0.0.2", Password: "k", Local: "10.0.0.1", LocalASN: 64512, PeerASN: 64513, Port: 1179,
		Hold: 9, Keepalive: 3, Retry: 5, Families: []string{"AFI_IP+gr", "AFI_IP6+gr"},
		GR: true, GRTime: 120, Deferral: 10, Restarting: true,
		BFDRx: 100000, BFDTx: 300000, BFDMult: 5,
	}
	if diff := cmp.Diff(want, s, cmpNet); diff != "" {
		t.Errorf("apiPeer (-want +got):\n%s", diff)
	}
	numbered := func(p PeerConfig, restarting bool) *api.Peer { return apiPeer(p, p.Address, restarting) }
	if mh := numbered(np("mh", func(p *PeerConfig) { p.EBGPMultiHop = true }), false); !mh.EbgpMultihop.Enabled || mh.EbgpMultihop.MultihopTtl != 255 {
		t.Errorf("multi-hop: %v", mh.EbgpMultihop)
	}
	if h := numbered(np("h0", func(p *PeerConfig) { p.HoldTime, p.KeepaliveTime = 0, 0 }), false).Timers.Config; h.HoldTime != 65535 || h.KeepaliveInterval != 0 {
		t.Errorf("hold time 0: proposed hold %d s, keepalive %d s; want 65535 (the router's value wins) and 0 (gobgp's hold/3 until negotiated)", h.HoldTime, h.KeepaliveInterval)
	}
	plain := numbered(np("v6", func(p *PeerConfig) { p.Address = addr6 }), false)
	if len(plain.AfiSafis) != 1 || plain.AfiSafis[0].Config.Family.Afi != api.Family_AFI_IP6 || plain.GracefulRestart != nil || plain.Bfd != nil {
		t.Errorf("plain IPv6 peer: %v", plain)
	}
}

// TestAPIPeerUnnumbered: an unnumbered session goes to gobgp as the
// link-local neighbor found on its interface (zone included), with both
// families.
func TestAPIPeerUnnumbered(t *testing.T) {
	p := np("p2p", func(p *PeerConfig) { p.Address, p.Interface = netip.Addr{}, "p2p0" })
	got := apiPeer(p, netip.MustParseAddr("fe80::1%p2p0"), false)
	if got.Conf.NeighborAddress != "fe80::1%p2p0" || got.Conf.NeighborInterface != "" || got.Transport.LocalAddress != "" {
		t.Errorf("unnumbered peer: address %q, interface %q, local %q; want fe80::1%%p2p0, none, none",
			got.Conf.NeighborAddress, got.Conf.NeighborInterface, got.Transport.LocalAddress)
	}
	var fams []string
	for _, as := range got.AfiSafis {
		fams = append(fams, as.Config.Family.Afi.String())
	}
	if diff := cmp.Diff([]string{"AFI_IP", "AFI_IP6"}, fams); diff != "" {
		t.Errorf("unnumbered families (-want +got):\n%s", diff)
	}
}

func TestGobgpPath(t *testing.T) {
	p, err := gobgpPath(Path{
		Prefix: netip.MustParsePrefix("2001:db8::1/128"), LocalPref: 200,
		Communities: []uint32{1<<16 | 2}, LargeCommunities: []LargeCommunity{{1, 2, 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var types []bgp.BGPAttrType
	for _, a := range p.Attrs {
		types = append(types, a.GetType())
	}
	want := []bgp.BGPAttrType{bgp.BGP_ATTR_TYPE_ORIGIN, bgp.BGP_ATTR_TYPE_MP_REACH_NLRI, bgp.BGP_ATTR_TYPE_LOCAL_PREF,
		bgp.BGP_ATTR_TYPE_COMMUNITIES, bgp.BGP_ATTR_TYPE_LARGE_COMMUNITY}
	if diff := cmp.Diff(want, types, cmpNet); diff != "" || p.Family != bgp.RF_IPv6_UC {
		t.Errorf("attributes (-want +got):\n%s family %v", diff, p.Family)
	}
	p4, err := gobgpPath(Path{Prefix: netip.MustParsePrefix("192.0.2.1/32")})
	if err != nil || p4.Family != bgp.RF_IPv4_UC || len(p4.Attrs) != 2 || p4.Attrs[1].GetType() != bgp.BGP_ATTR_TYPE_NEXT_HOP {
		t.Errorf("IPv4 path %+v, %v", p4, err)
	}
}

func TestGobgpPathGracefulShutdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []uint32
		want []uint32
	}{
		{"adds the community", []uint32{1<<16 | 2}, []uint32{1<<16 | 2, CommunityGracefulShutdown}},
		{"once", []uint32{CommunityGracefulShutdown}, []uint32{CommunityGracefulShutdown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Path{Prefix: netip.MustParsePrefix("192.0.2.1/32"), LocalPref: 200, Communities: tc.in, GracefulShutdown: true}
			p, err := gobgpPath(in)
			if err != nil {
				t.Fatal(err)
			}
			var pref *uint32
			var comms []uint32
			for _, a := range p.Attrs {
				switch a := a.(type) {
				case *bgp.PathAttributeLocalPref:
					pref = &a.Value
				case *bgp.PathAttributeCommunities:
					comms = a.Value
				}
			}
			if pref == nil || *pref != 0 {
				t.Errorf("LOCAL_PREF %v, want 0", pref)
			}
			if diff := cmp.Diff(tc.want, comms); diff != "" {
				t.Errorf("communities (-want +got):\n%s", diff)
			}
			if len(in.Communities) != len(tc.in) {
				t.Errorf("the caller's communities changed: %v", in.Communities)
			}
		})
	}
}

func TestFromAPI(t *testing.T) {
	if got := fromAPIPeer(&api.Peer{State: &api.PeerState{SessionState: api.PeerState_SESSION_STATE_ACTIVE, PeerAsn: 7, DisconnectMessage: "x"}}); got != (peerStatus{state: StateActive, peerASN: 7, lastError: "x"}) {
		t.Errorf("fromAPIPeer = %+v", got)
	}
	for in, want := range map[api.BfdSessionState]BFDState{
		api.BfdSessionState_BFD_SESSION_STATE_UP: BFDUp, api.BfdSessionState_BFD_SESSION_STATE_INIT: BFDInit,
		api.BfdSessionState_BFD_SESSION_STATE_DOWN: BFDDown, api.BfdSessionState_BFD_SESSION_STATE_ADMIN_DOWN: BFDAdminDown,
	} {
		if got := fromAPIBFDState(in); got != want {
			t.Errorf("fromAPIBFDState(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestGobgpLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, mute := newGobgpLogger(base)
	l.Info("peer up")
	l.Warn("bfd expired", "peer", "10.0.0.2")
	mute.Store(true)
	l.Error("failed to stop BGP server")
	out := buf.String()
	if strings.Contains(out, "peer up") || !strings.Contains(out, "bfd expired") || !strings.Contains(out, "component=gobgp") || strings.Contains(out, "failed to stop") {
		t.Errorf("log output:\n%s", out)
	}
	if l.Handler().Enabled(context.Background(), slog.LevelError) {
		t.Error("muted handler enabled")
	}
}

// TestLinkBandwidth: a weighted path carries one link-bandwidth extended
// community that gobgp's own parser reads back as Weight × 1 Mbit/s, with
// the wire type and sub-type of draft-ietf-idr-link-bandwidth.
func TestLinkBandwidth(t *testing.T) {
	for _, c := range []struct {
		weight uint32
		as     uint16
		want   float32 // bytes per second
	}{
		{1, 64512, 125_000},
		{3, 64512, 375_000},
		{1000, ASTrans, 125_000_000},
	} {
		p, err := gobgpPath(Path{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Weight: c.weight, WeightAS: c.as})
		if err != nil {
			t.Fatal(err)
		}
		attr := p.Attrs[len(p.Attrs)-1]
		wire, err := attr.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := bgp.GetPathAttribute(wire)
		if err != nil {
			t.Fatal(err)
		}
		if err := parsed.DecodeFromBytes(wire); err != nil {
			t.Fatalf("weight %d: decode %x: %v", c.weight, wire, err)
		}
		ext, ok := parsed.(*bgp.PathAttributeExtendedCommunities)
		if !ok || len(ext.Value) != 1 {
			t.Fatalf("weight %d: parsed %T %v, want one extended community", c.weight, parsed, parsed)
		}
		lb, ok := ext.Value[0].(*bgp.LinkBandwidthExtended)
		if !ok || lb.AS != c.as || lb.Bandwidth != c.want {
			t.Errorf("weight %d: community %#v, want AS %d bandwidth %v", c.weight, ext.Value[0], c.as, c.want)
		}
		// Attribute header (flags, type, length) then the community.
		if v := wire[len(wire)-8:]; v[0] != 0x40 || v[1] != 0x04 {
			t.Errorf("weight %d: community type %#x sub-type %#x, want 0x40 0x04", c.weight, v[0], v[1])
		}
	}
	p, err := gobgpPath(Path{Prefix: netip.MustParsePrefix("192.0.2.1/32")})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Attrs {
		if a.GetType() == bgp.BGP_ATTR_TYPE_EXTENDED_COMMUNITIES {
			t.Errorf("unweighted path carries %v", a)
		}
	}
}
