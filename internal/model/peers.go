package model

import (
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

const kindPeer = "BGPPeer"

// BGP timer defaults, as users of other BGP load balancers know them.
const (
	defaultHoldTime    = 90 * time.Second
	defaultConnectTime = 5 * time.Second
	defaultPeerPort    = 179
)

// PasswordSecretKey is the key of a BGPPeer password Secret that holds the
// password.
const PasswordSecretKey = "password"

// convertPeers validates peers and resolves their BFD profiles and
// password secrets.
func convertPeers(c *collector, in []v1beta1.BGPPeer, profiles []*BFDProfile, secrets []corev1.Secret) []*Peer {
	in = sortedByName(in, func(o *v1beta1.BGPPeer) string { return o.Name })
	var out []*Peer
	seen := map[string]bool{}
	for i := range in {
		p := &in[i]
		if seen[p.Name] {
			c.add(kindPeer, p.Name, "metadata.name", "duplicate peer name")
			continue
		}
		seen[p.Name] = true
		out = append(out, convertPeer(c, p, profiles, secrets))
	}
	checkDuplicatePeers(c, out)
	return out
}

// convertPeer validates one peer.
func convertPeer(c *collector, p *v1beta1.BGPPeer, profiles []*BFDProfile, secrets []corev1.Secret) *Peer {
	s := &p.Spec
	peer := &Peer{
		Name:            p.Name,
		MyASN:           s.MyASN,
		PeerASN:         s.PeerASN,
		EBGPMultiHop:    s.EBGPMultiHop,
		GracefulRestart: s.EnableGracefulRestart,
		LocalASN:        s.LocalASN,
		DualStack:       s.DualStackAddressFamily,
		NodeSelectors:   compileSelectors(c, kindPeer, p.Name, "spec.nodeSelectors", s.NodeSelectors),
		Port:            s.PeerPort,
	}
	if peer.Port == 0 {
		peer.Port = defaultPeerPort
	}
	checkASNs(c, p, peer)
	peer.Address = peerAddr(c, p.Name, "spec.peerAddress", s.PeerAddress, s.Interface == "")
	peer.SourceAddress = peerAddr(c, p.Name, "spec.sourceAddress", s.SourceAddress, false)
	peer.Interface = peerInterface(c, p)
	if peer.Address.IsValid() && peer.SourceAddress.IsValid() && peer.Address.Is4() != peer.SourceAddress.Is4() {
		c.add(kindPeer, p.Name, "spec.sourceAddress", "%s is not of the same family as peerAddress %s", peer.SourceAddress, peer.Address)
	}
	if s.RouterID != "" {
		id, err := netip.ParseAddr(s.RouterID)
		if err != nil || !id.Is4() {
			c.add(kindPeer, p.Name, "spec.routerID", "%q is not an IPv4 address", s.RouterID)
		}
		peer.RouterID = id
	}
	peer.HoldTime, peer.KeepaliveTime, peer.ConnectTime = peerTimers(c, p)
	peer.Password = peerPassword(c, p, secrets)
	if s.BFDProfile != "" {
		peer.BFDProfile = findBFD(profiles, s.BFDProfile)
		switch {
		case peer.BFDProfile == nil:
			c.add(kindPeer, p.Name, "spec.bfdProfile", "unknown BFDProfile %q", s.BFDProfile)
		case s.EBGPMultiHop:
			c.add(kindPeer, p.Name, "spec.bfdProfile", "BFD is single-hop only and cannot be used with ebgpMultiHop")
		}
	}
	return peer
}

// checkASNs validates myASN, peerASN and dynamicASN.
func checkASNs(c *collector, p *v1beta1.BGPPeer, peer *Peer) {
	s := &p.Spec
	if s.MyASN == 0 {
		c.add(kindPeer, p.Name, "spec.myASN", "ASN 0 is reserved; set the speakers' ASN")
	}
	switch s.DynamicASN {
	case "":
		if s.PeerASN == 0 {
			c.add(kindPeer, p.Name, "spec.peerASN", "set the router's ASN (not 0) or dynamicASN")
		}
	case v1beta1.DynamicASNInternal, v1beta1.DynamicASNExternal:
		if s.PeerASN != 0 {
			c.add(kindPeer, p.Name, "spec.dynamicASN", "peerASN and dynamicASN are mutually exclusive")
		}
		peer.DynamicASN = DynamicASNInternal
		if s.DynamicASN == v1beta1.DynamicASNExternal {
			peer.DynamicASN = DynamicASNExternal
		}
	default:
		c.add(kindPeer, p.Name, "spec.dynamicASN", "%q is not one of internal, external", s.DynamicASN)
	}
	checkLocalASN(c, p)
}

// checkLocalASN validates localASN: it replaces myASN on an eBGP session
// only, so it must differ from both ASNs of the session.
func checkLocalASN(c *collector, p *v1beta1.BGPPeer) {
	s := &p.Spec
	switch {
	case s.LocalASN == 0:
	case s.LocalASN == s.MyASN:
		c.add(kindPeer, p.Name, "spec.localASN", "%d equals myASN; leave localASN unset", s.LocalASN)
	case s.DynamicASN == v1beta1.DynamicASNInternal:
		c.add(kindPeer, p.Name, "spec.localASN", "cannot be used with dynamicASN internal: localASN applies to eBGP sessions only")
	case s.PeerASN != 0 && s.PeerASN == s.MyASN:
		c.add(kindPeer, p.Name, "spec.localASN", "cannot be used on an iBGP session (peerASN equals myASN %d)", s.MyASN)
	case s.PeerASN == s.LocalASN:
		c.add(kindPeer, p.Name, "spec.localASN", "%d equals peerASN: the session would turn iBGP", s.LocalASN)
	}
}

// peerAddr parses an address field; required fields must be set.
func peerAddr(c *collector, name, field, s string, required bool) netip.Addr {
	if s == "" {
		if required {
			c.add(kindPeer, name, field, "required")
		}
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() {
		c.add(kindPeer, name, field, "%q is not a unicast IPv4 or IPv6 address", s)
		return netip.Addr{}
	}
	return a
}

// peerInterface validates interface, the node interface of an unnumbered
// session: it replaces peerAddress, and the session runs between link-local
// addresses on one link, so neither a source address nor multi-hop apply.
func peerInterface(c *collector, p *v1beta1.BGPPeer) string {
	s := &p.Spec
	if s.Interface == "" {
		return ""
	}
	if err := checkInterfaceName(s.Interface); err != nil {
		c.add(kindPeer, p.Name, "spec.interface", "%v", err)
		return ""
	}
	if s.PeerAddress != "" {
		c.add(kindPeer, p.Name, "spec.interface", "peerAddress and interface are mutually exclusive")
	}
	if s.SourceAddress != "" {
		c.add(kindPeer, p.Name, "spec.sourceAddress", "cannot be used with interface: the session runs from the interface's link-local address")
	}
	if s.EBGPMultiHop {
		c.add(kindPeer, p.Name, "spec.ebgpMultiHop", "cannot be used with interface: an unnumbered session reaches its router directly on the link")
	}
	if s.BFDProfile != "" {
		c.add(kindPeer, p.Name, "spec.bfdProfile", "BFD is not supported on unnumbered sessions (interface) yet")
	}
	return s.Interface
}

// peerTimers validates hold, keepalive and connect times and applies
// defaults: hold 90s, keepalive hold/3, connect 5s. A hold time of 0
// disables keepalives; otherwise it must be at least 3s (RFC 4271).
func peerTimers(c *collector, p *v1beta1.BGPPeer) (hold, keepalive, connect time.Duration) {
	s := &p.Spec
	hold = defaultHoldTime
	if s.HoldTime != nil {
		hold = s.HoldTime.Duration
		if hold != 0 && hold < 3*time.Second || hold < 0 || hold > 65535*time.Second {
			c.add(kindPeer, p.Name, "spec.holdTime", "must be 0 or between 3s and 65535s, got %s", hold)
		}
		if hold%time.Second != 0 {
			c.add(kindPeer, p.Name, "spec.holdTime", "must be a whole number of seconds, got %s", hold)
		}
	}
	keepalive = hold / 3
	if s.KeepaliveTime != nil {
		keepalive = s.KeepaliveTime.Duration
		if keepalive < 0 || keepalive > hold {
			c.add(kindPeer, p.Name, "spec.keepaliveTime", "must be between 0 and holdTime (%s), got %s", hold, keepalive)
		}
		if hold != 0 && keepalive == 0 {
			c.add(kindPeer, p.Name, "spec.keepaliveTime", "must not be 0 when holdTime is not 0")
		}
	}
	connect = defaultConnectTime
	if s.ConnectTime != nil {
		connect = s.ConnectTime.Duration
		if connect < time.Second || connect > 65535*time.Second {
			c.add(kindPeer, p.Name, "spec.connectTime", "must be between 1s and 65535s, got %s", connect)
		}
	}
	return hold, keepalive, connect
}

// peerPassword resolves the MD5 password from the spec or its Secret.
func peerPassword(c *collector, p *v1beta1.BGPPeer, secrets []corev1.Secret) string {
	s := &p.Spec
	ref := s.PasswordSecret
	if ref == nil {
		return s.Password
	}
	if s.Password != "" {
		c.add(kindPeer, p.Name, "spec.passwordSecret", "password and passwordSecret are mutually exclusive")
	}
	if ref.Namespace != "" && ref.Namespace != p.Namespace {
		c.add(kindPeer, p.Name, "spec.passwordSecret.namespace", "the Secret must be in the peer's namespace %q, got %q", p.Namespace, ref.Namespace)
		return ""
	}
	i := slices.IndexFunc(secrets, func(sec corev1.Secret) bool { return sec.Name == ref.Name })
	if i < 0 {
		c.add(kindPeer, p.Name, "spec.passwordSecret.name", "Secret %q not found", ref.Name)
		return ""
	}
	pw, ok := secrets[i].Data[PasswordSecretKey]
	if !ok || len(pw) == 0 {
		c.add(kindPeer, p.Name, "spec.passwordSecret.name", "Secret %q has no %q key", ref.Name, PasswordSecretKey)
	}
	return string(pw)
}

// checkDuplicatePeers rejects two peers for the same address and port, or
// the same interface, when neither restricts its nodes: every node would
// need two sessions to one router. Peers with node selectors are checked per node by the speaker.
func checkDuplicatePeers(c *collector, peers []*Peer) {
	owner := map[netip.AddrPort]string{}
	links := map[string]string{}
	for _, p := range peers {
		if len(p.NodeSelectors) > 0 {
			continue
		}
		if p.Interface != "" {
			if prev, dup := links[p.Interface]; dup {
				c.add(kindPeer, p.Name, "spec.interface", "%s is already the interface of %s %q on the same nodes: a link has one router", p.Interface, kindPeer, prev)
				continue
			}
			links[p.Interface] = p.Name
		}
		if !p.Address.IsValid() {
			continue
		}
		key := netip.AddrPortFrom(p.Address, p.Port)
		if prev, dup := owner[key]; dup {
			c.add(kindPeer, p.Name, "spec.peerAddress", "%s is already the address of %s %q on the same nodes", key, kindPeer, prev)
			continue
		}
		owner[key] = p.Name
	}
}

// findBFD returns the profile with this name, or nil.
func findBFD(profiles []*BFDProfile, name string) *BFDProfile {
	for _, p := range profiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}
