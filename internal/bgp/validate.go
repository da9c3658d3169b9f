package bgp

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Defaults applied to zero fields of PeerConfig and BFDConfig.
const (
	DefaultPort          = 179
	DefaultHoldTime      = 90 * time.Second
	DefaultConnectTime   = 5 * time.Second
	DefaultBFDInterval   = 300 * time.Millisecond
	DefaultBFDMultiplier = 3
	// gracefulRestartTime is the Restart Time we advertise: how long routers
	// keep our routes while we reconnect after a restart.
	gracefulRestartTime = 120 * time.Second
	// gracefulDeferralTime bounds how long a restarted speaker waits for every
	// peer's End-of-RIB before sending its routes anyway.
	gracefulDeferralTime = 10 * time.Second
)

// BFD interval bounds (the range FRR and BIRD accept).
const (
	minBFDInterval = 10 * time.Millisecond
	maxBFDInterval = 60 * time.Second
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, ErrUnsupported, fmt.Sprintf(format, args...))
}

// BFDSupports reports, as one error wrapping ErrUnsupported, the fields of c
// that gobgp's BFD cannot honour, or an ErrInvalidConfig error for values out
// of range. It returns nil when c can be used as is.
func BFDSupports(c BFDConfig) error {
	var errs []error
	if c.PassiveMode {
		errs = append(errs, unsupported("bfd passive mode: gobgp always transmits"))
	}
	if c.MinimumTTL != 0 {
		errs = append(errs, unsupported("bfd minimum TTL %d: gobgp does not check the received TTL", c.MinimumTTL))
	}
	if c.EchoMode || c.EchoInterval != 0 {
		errs = append(errs, unsupported("bfd echo mode: gobgp has no echo function"))
	}
	for _, iv := range []struct {
		name string
		d    time.Duration
	}{{"receive", c.ReceiveInterval}, {"transmit", c.TransmitInterval}} {
		if iv.d != 0 && (iv.d < minBFDInterval || iv.d > maxBFDInterval) {
			errs = append(errs, invalid("bfd %s interval %v outside [%v, %v]", iv.name, iv.d, minBFDInterval, maxBFDInterval))
		}
		if iv.d%time.Microsecond != 0 {
			errs = append(errs, invalid("bfd %s interval %v is not a whole number of microseconds", iv.name, iv.d))
		}
	}
	if c.DetectMultiplier == 1 {
		errs = append(errs, invalid("bfd detect multiplier must be at least 2"))
	}
	return errors.Join(errs...)
}

// withBFDDefaults fills zero fields of c.
func withBFDDefaults(c BFDConfig) BFDConfig {
	if c.ReceiveInterval == 0 {
		c.ReceiveInterval = DefaultBFDInterval
	}
	if c.TransmitInterval == 0 {
		c.TransmitInterval = DefaultBFDInterval
	}
	if c.DetectMultiplier == 0 {
		c.DetectMultiplier = DefaultBFDMultiplier
	}
	return c
}

// Validate checks p alone (Config-dependent checks happen in SetPeers) and
// returns an error wrapping ErrInvalidConfig (and ErrUnsupported for what
// gobgp cannot do) describing every problem.
func (p PeerConfig) Validate() error {
	errs := []error{validateIdentity(p), validateTimers(p), validateNextHops(p)}
	if p.BFD != nil {
		errs = append(errs, BFDSupports(*p.BFD))
		if p.EBGPMultiHop {
			errs = append(errs, unsupported("bfd on a multi-hop session: gobgp implements single-hop BFD only"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("peer %q: %w", p.Name, err)
	}
	return nil
}

func validateIdentity(p PeerConfig) error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, invalid("empty name"))
	}
	if p.MyASN == 0 {
		errs = append(errs, invalid("my ASN is 0"))
	}
	switch {
	case p.DynamicASN > DynamicASNExternal:
		errs = append(errs, invalid("unknown dynamic ASN mode %d", p.DynamicASN))
	case p.PeerASN == 0 && p.DynamicASN == DynamicASNNone:
		errs = append(errs, invalid("peer ASN is 0 and dynamic ASN is none"))
	case p.PeerASN != 0 && p.DynamicASN != DynamicASNNone:
		errs = append(errs, invalid("peer ASN %d set together with dynamic ASN %s", p.PeerASN, p.DynamicASN))
	}
	if !p.Address.IsValid() || p.Address.IsUnspecified() || p.Address.IsMulticast() {
		errs = append(errs, invalid("address %q is not a unicast address", p.Address))
	}
	if p.SourceAddress.IsValid() && p.Address.IsValid() && p.SourceAddress.Is4() != p.Address.Is4() {
		errs = append(errs, invalid("source address %s and address %s are of different families", p.SourceAddress, p.Address))
	}
	if p.RouterID.IsValid() && !p.RouterID.Is4() {
		errs = append(errs, invalid("router ID %s is not an IPv4 address", p.RouterID))
	}
	return errors.Join(errs...)
}

func validateTimers(p PeerConfig) error {
	var errs []error
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"hold time", p.HoldTime}, {"keepalive time", p.KeepaliveTime}, {"connect time", p.ConnectTime}} {
		if t.d < 0 || t.d%time.Second != 0 || t.d > 65535*time.Second {
			errs = append(errs, invalid("%s %v is not a whole number of seconds in [0, 65535]", t.name, t.d))
		}
	}
	if p.HoldTime > 0 && p.HoldTime < 3*time.Second {
		errs = append(errs, invalid("hold time %v must be 0 or at least 3s (RFC 4271)", p.HoldTime))
	}
	hold := p.HoldTime
	if hold == 0 {
		hold = DefaultHoldTime
	}
	if p.KeepaliveTime >= hold {
		errs = append(errs, invalid("keepalive time %v must be less than hold time %v", p.KeepaliveTime, hold))
	}
	return errors.Join(errs...)
}

func validateNextHops(p PeerConfig) error {
	var errs []error
	if p.IPv6NextHop.IsValid() && (!p.IPv6NextHop.Is6() || p.IPv6NextHop.Is4In6() || p.Address.Is6()) {
		errs = append(errs, invalid("IPv6 next hop %s: must be an IPv6 address, for an IPv4 session", p.IPv6NextHop))
	}
	if p.IPv4NextHop.IsValid() && (!p.IPv4NextHop.Is4() || p.Address.Is4()) {
		errs = append(errs, invalid("IPv4 next hop %s: must be an IPv4 address, for an IPv6 session", p.IPv4NextHop))
	}
	return errors.Join(errs...)
}

// normalizePeer validates p and returns it with defaults filled in, so that
// two configurations meaning the same session compare equal.
func normalizePeer(p PeerConfig, routerID netip.Addr) (PeerConfig, error) {
	if err := p.Validate(); err != nil {
		return PeerConfig{}, err
	}
	if p.RouterID.IsValid() && p.RouterID != routerID {
		return PeerConfig{}, fmt.Errorf("peer %q: %w", p.Name,
			unsupported("router ID %s differs from the speaker's %s: gobgp uses one router ID for every session", p.RouterID, routerID))
	}
	p.RouterID = routerID
	if p.DynamicASN == DynamicASNInternal {
		p.PeerASN, p.DynamicASN = p.MyASN, DynamicASNNone
	}
	if p.Port == 0 {
		p.Port = DefaultPort
	}
	if p.HoldTime == 0 {
		p.HoldTime = DefaultHoldTime
	}
	if p.KeepaliveTime == 0 {
		p.KeepaliveTime = p.HoldTime / 3
	}
	if p.ConnectTime == 0 {
		p.ConnectTime = DefaultConnectTime
	}
	if p.BFD != nil {
		b := withBFDDefaults(*p.BFD)
		p.BFD = &b
	}
	return p, nil
}

// normalizePeers normalizes every peer and checks that names and addresses
// are unique.
func normalizePeers(peers []PeerConfig, routerID netip.Addr) (map[string]PeerConfig, error) {
	out := make(map[string]PeerConfig, len(peers))
	byAddr := make(map[netip.Addr]string, len(peers))
	var errs []error
	for _, p := range peers {
		n, err := normalizePeer(p, routerID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := out[n.Name]; dup {
			errs = append(errs, invalid("peer name %q used twice", n.Name))
			continue
		}
		if other, dup := byAddr[n.Address]; dup {
			errs = append(errs, invalid("peers %q and %q share address %s", other, n.Name, n.Address))
			continue
		}
		out[n.Name], byAddr[n.Address] = n, n.Name
	}
	return out, errors.Join(errs...)
}

// normalizePath validates p and returns a canonical copy: masked prefix,
// sorted unique peer names and communities.
func normalizePath(p Path) (Path, error) {
	if !p.Prefix.IsValid() {
		return Path{}, invalid("path prefix %q is not valid", p.Prefix)
	}
	if p.Prefix.Addr().Is4In6() {
		return Path{}, invalid("path prefix %s is an IPv4-mapped IPv6 prefix", p.Prefix)
	}
	p.Prefix = p.Prefix.Masked()
	p.Peers = sortedUnique(p.Peers)
	p.Communities = sortedUnique(p.Communities)
	p.LargeCommunities = sortedUniqueFunc(p.LargeCommunities, compareLarge)
	if len(p.Peers) == 0 {
		p.Peers = nil
	}
	return p, nil
}

func sortedUnique[T interface{ ~string | ~uint32 }](in []T) []T {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedUniqueFunc[T comparable](in []T, cmp func(a, b T) int) []T {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortFunc(out, cmp)
	return slices.Compact(out)
}

func compareLarge(a, b LargeCommunity) int {
	return cmp.Or(cmp.Compare(a.GlobalAdmin, b.GlobalAdmin),
		cmp.Compare(a.LocalData1, b.LocalData1),
		cmp.Compare(a.LocalData2, b.LocalData2))
}
