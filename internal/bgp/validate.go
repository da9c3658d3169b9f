package bgp

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Graceful restart timers we advertise.
const (
	// gracefulRestartTime is the Restart Time we advertise: how long routers
	// keep our routes while we reconnect after a restart.
	gracefulRestartTime = 120 * time.Second
	// gracefulDeferralTime bounds how long a restarted speaker waits for every
	// peer's End-of-RIB before sending its routes anyway.
	gracefulDeferralTime = 10 * time.Second
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, ErrUnsupported, fmt.Sprintf(format, args...))
}

// BFDSupports reports, as one error wrapping ErrUnsupported, the fields of c
// that gobgp's BFD cannot honour. It returns nil when c can be used as is.
// Ranges and defaults are the caller's (package model validates them).
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
	return errors.Join(errs...)
}

// Validate reports what gobgp cannot do with p, as an error wrapping
// ErrInvalidConfig (and ErrUnsupported for features gobgp lacks). It does
// not re-check what the caller validated (ASNs, timers, ranges: package
// model does): a session needs a name (its key) and an address (gobgp's
// key), and BFD only in the forms gobgp implements.
func (p PeerConfig) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, invalid("empty name"))
	}
	switch {
	case p.Interface != "":
		errs = append(errs, p.validateUnnumbered()...)
	case !p.Address.IsValid():
		errs = append(errs, invalid("no address"))
	}
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

// validateUnnumbered checks what an unnumbered session cannot have: it runs
// between link-local addresses on one link, with our link-local address as
// the next hop of both families.
func (p PeerConfig) validateUnnumbered() []error {
	var errs []error
	if p.Address.IsValid() {
		errs = append(errs, invalid("address %s and interface %q are mutually exclusive", p.Address, p.Interface))
	}
	if p.SourceAddress.IsValid() {
		errs = append(errs, invalid("source address %s on an unnumbered session: it runs from the link-local address of %q", p.SourceAddress, p.Interface))
	}
	if p.EBGPMultiHop {
		errs = append(errs, invalid("multi-hop on an unnumbered session: the router is on the link"))
	}
	if p.IPv4NextHop.IsValid() || p.IPv6NextHop.IsValid() {
		errs = append(errs, invalid("next hops on an unnumbered session: both families use our link-local address"))
	}
	if p.BFD != nil {
		errs = append(errs, unsupported("bfd on an unnumbered session"))
	}
	return errs
}

// normalizePeer checks p and returns it in the form the loop compares and
// applies: the speaker's router ID, and an internal dynamic ASN turned
// into the local ASN (gobgp has no "internal" mode).
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
	if p.BFD != nil {
		b := *p.BFD
		p.BFD = &b
	}
	return p, nil
}

// normalizePeers normalizes every peer and checks that names, addresses
// and interfaces are unique (gobgp keys sessions by address; a link has
// one router).
func normalizePeers(peers []PeerConfig, routerID netip.Addr) (map[string]PeerConfig, error) {
	out := make(map[string]PeerConfig, len(peers))
	byAddr := make(map[netip.Addr]string, len(peers))
	byLink := make(map[string]string)
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
		if n.Interface != "" {
			if other, dup := byLink[n.Interface]; dup {
				errs = append(errs, invalid("peers %q and %q share interface %q", other, n.Name, n.Interface))
				continue
			}
			out[n.Name], byLink[n.Interface] = n, n.Name
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

// normalizePath checks that gobgp can encode p's prefix and returns a
// canonical copy: masked prefix, sorted unique peer names and communities.
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
	return p, nil
}

// sortedUnique returns in sorted without duplicates; nil when empty, so
// that equal sets compare equal.
func sortedUnique[T interface{ ~string | ~uint32 }](in []T) []T {
	return sortedUniqueFunc(in, cmp.Compare[T])
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
