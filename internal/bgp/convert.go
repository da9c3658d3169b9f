package bgp

import (
	"net/netip"
	"slices"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

var (
	familyIPv4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyIPv6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// apiPeer converts a normalized PeerConfig to gobgp's neighbor definition
// for the router at addr (p.Address, or the link-local address found for
// an unnumbered session). localRestarting sets the Restart State bit (and
// the forwarding bits) in the OPEN: the router then keeps our stale routes
// until our End-of-RIB.
//
// An unnumbered session is given to gobgp as a link-local neighbor with
// the interface as zone, not as gobgp's NeighborInterface: gobgp would
// resolve the address again on its own (and again on delete, failing once
// the router is gone), while the session's key must stay the address we
// resolved. gobgp then dials from our link-local address on that interface.
func apiPeer(p PeerConfig, addr netip.Addr, localRestarting bool) *api.Peer {
	secs := func(d time.Duration) uint64 { return uint64(d / time.Second) }
	out := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: addr.String(),
			LocalAsn:        p.MyASN,
			PeerAsn:         p.PeerASN,
			AuthPassword:    p.Password,
			Description:     p.Name,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:               proposedHoldTime(p.HoldTime),
			KeepaliveInterval:      secs(p.KeepaliveTime),
			ConnectRetry:           secs(p.ConnectTime),
			IdleHoldTimeAfterReset: secs(p.ConnectTime),
		}},
		Transport: &api.Transport{RemotePort: uint32(p.Port)},
		AfiSafis:  apiAfiSafis(p),
	}
	if p.SourceAddress.IsValid() {
		out.Transport.LocalAddress = p.SourceAddress.String()
	}
	if p.EBGPMultiHop {
		out.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: 255}
	}
	if p.GracefulRestart {
		out.GracefulRestart = &api.GracefulRestart{
			Enabled:         true,
			RestartTime:     uint32(gracefulRestartTime / time.Second),
			DeferralTime:    uint32(gracefulDeferralTime / time.Second),
			LocalRestarting: localRestarting,
		}
	}
	if b := p.BFD; b != nil {
		out.Bfd = &api.BfdPeerConfig{
			Enabled:                  true,
			DesiredMinimumTxInterval: uint32(b.TransmitInterval / time.Microsecond),
			RequiredMinimumReceive:   uint32(b.ReceiveInterval / time.Microsecond),
			DetectionMultiplier:      uint32(b.DetectMultiplier),
		}
	}
	return out
}

// maxHoldTime is the largest hold time BGP can carry (RFC 4271: 16 bits).
const maxHoldTime = 65535

// proposedHoldTime is the hold time sent in the OPEN, in seconds. The
// session runs with the smaller of both sides' values, and 0 (no hold
// timer, no keepalives) wins whenever one side sends it; but gobgp reads a
// configured 0 as "use the default, 90 s". For 0 the largest value is
// proposed instead: the router's hold time then always wins, so the session
// runs without keepalives when the router is set to 0.
func proposedHoldTime(d time.Duration) uint64 {
	if d == 0 {
		return maxHoldTime
	}
	return uint64(d / time.Second)
}

// apiAfiSafis enables the session's own family, and the other family when a
// next hop for it is configured; both on an unnumbered session (gobgp
// advertises the extended next hop capability for IPv4 and sends IPv4
// prefixes with the session's IPv6 address as next hop, RFC 8950).
func apiAfiSafis(p PeerConfig) []*api.AfiSafi {
	var fams []*api.Family
	unnumbered := p.Interface != ""
	if unnumbered || p.Address.Is4() || p.IPv4NextHop.IsValid() {
		fams = append(fams, familyIPv4)
	}
	if unnumbered || p.Address.Is6() || p.IPv6NextHop.IsValid() {
		fams = append(fams, familyIPv6)
	}
	out := make([]*api.AfiSafi, 0, len(fams))
	for _, f := range fams {
		as := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
		if p.GracefulRestart {
			as.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		out = append(out, as)
	}
	return out
}

// gobgpPath converts a normalized Path to a locally originated gobgp path.
// The unspecified next hop makes gobgp send the session's local address.
func gobgpPath(p Path) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(p.Prefix)
	if err != nil {
		return nil, err
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	family := bgp.RF_IPv4_UC
	if p.Prefix.Addr().Is4() {
		nh, err := bgp.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		family = bgp.RF_IPv6_UC
		mp, err := bgp.NewPathAttributeMpReachNLRI(family, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	communities := p.Communities
	switch {
	case p.GracefulShutdown:
		// gobgp sends LOCAL_PREF to iBGP peers only.
		attrs = append(attrs, bgp.NewPathAttributeLocalPref(0))
		if !slices.Contains(communities, CommunityGracefulShutdown) {
			communities = append(slices.Clone(communities), CommunityGracefulShutdown)
		}
	case p.LocalPref != 0:
		attrs = append(attrs, bgp.NewPathAttributeLocalPref(p.LocalPref))
	}
	if len(communities) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(communities))
	}
	if len(p.LargeCommunities) > 0 {
		lcs := make([]*bgp.LargeCommunity, len(p.LargeCommunities))
		for i, c := range p.LargeCommunities {
			lcs[i] = bgp.NewLargeCommunity(c.GlobalAdmin, c.LocalData1, c.LocalData2)
		}
		attrs = append(attrs, bgp.NewPathAttributeLargeCommunities(lcs))
	}
	if p.Weight != 0 {
		attrs = append(attrs, bgp.NewPathAttributeExtendedCommunities([]bgp.ExtendedCommunityInterface{linkBandwidth(p)}))
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs}, nil
}

// linkBandwidth is the link-bandwidth extended community of a weighted
// path: non-transitive, two-octet AS specific (type 0x40, sub-type 0x04),
// the bandwidth an IEEE-754 float32 in bytes per second.
func linkBandwidth(p Path) *bgp.LinkBandwidthExtended {
	return bgp.NewLinkBandwidthExtended(p.WeightAS, float32(float64(p.Weight)*BandwidthPerWeight))
}

// peerStatus is what gobgp reports about one neighbor.
type peerStatus struct {
	state         State
	peerASN       uint32
	localASN      uint32
	establishedAt time.Time
	lastError     string
}

func fromAPIPeer(p *api.Peer) peerStatus {
	var st peerStatus
	if s := p.GetState(); s != nil {
		st.state = fromAPISessionState(s.SessionState)
		st.peerASN = s.PeerAsn
		st.localASN = s.LocalAsn
		st.lastError = s.DisconnectMessage
	}
	if up := p.GetTimers().GetState().GetUptime(); up != nil && st.state == StateEstablished {
		st.establishedAt = up.AsTime()
	}
	return st
}

func fromAPISessionState(s api.PeerState_SessionState) State {
	switch s {
	case api.PeerState_SESSION_STATE_IDLE:
		return StateIdle
	case api.PeerState_SESSION_STATE_CONNECT:
		return StateConnect
	case api.PeerState_SESSION_STATE_ACTIVE:
		return StateActive
	case api.PeerState_SESSION_STATE_OPENSENT:
		return StateOpenSent
	case api.PeerState_SESSION_STATE_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_SESSION_STATE_ESTABLISHED:
		return StateEstablished
	}
	return StateUnknown
}

func fromAPIBFDState(s api.BfdSessionState) BFDState {
	switch s {
	case api.BfdSessionState_BFD_SESSION_STATE_ADMIN_DOWN:
		return BFDAdminDown
	case api.BfdSessionState_BFD_SESSION_STATE_INIT:
		return BFDInit
	case api.BfdSessionState_BFD_SESSION_STATE_UP:
		return BFDUp
	}
	return BFDDown
}
