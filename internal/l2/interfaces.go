package l2

import (
	"cmp"
	"net"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// Interface is a usable interface: one the Announcer answers on.
type Interface struct {
	// Name is the interface name.
	Name string
	// Index is the kernel interface index.
	Index int
	// MAC is the address the Announcer answers with.
	MAC net.HardwareAddr
	// HasIPv4 is true when the interface has an IPv4 address.
	HasIPv4 bool
	// HasIPv6 is true when the interface has an IPv6 address (a link-local
	// one at least, possibly tentative): IPv6 is enabled on it.
	HasIPv6 bool
	// LinkLocal is an IPv6 link-local address of the interface that has
	// passed duplicate address detection, or the zero Addr. Advertisements
	// are sourced from it when present, else from the advertised IP itself.
	LinkLocal netip.Addr
	// Multicast is true when the interface supports multicast, which
	// IPv6 neighbour discovery needs.
	Multicast bool
	// Prefixes are the subnets of the interface's addresses, masked,
	// sorted and without duplicates: the segments it is on. Link-local
	// addresses and host routes (/32, /128) name no segment and are left
	// out.
	Prefixes []netip.Prefix
}

// HasLinkLocal reports whether the interface has an IPv6 link-local address.
func (i Interface) HasLinkLocal() bool { return i.LinkLocal.IsValid() }

// equal reports whether two interfaces are the same for the Announcer.
func (i Interface) equal(o Interface) bool {
	return i.Name == o.Name && i.Index == o.Index && string(i.MAC) == string(o.MAC) &&
		i.HasIPv4 == o.HasIPv4 && i.HasIPv6 == o.HasIPv6 && i.LinkLocal == o.LinkLocal && i.Multicast == o.Multicast &&
		slices.Equal(i.Prefixes, o.Prefixes)
}

// DefaultExcludes returns the interface name patterns (path.Match syntax)
// that are never used: loopback, container and pod plumbing (bridges, veth
// pairs, CNI devices), kube-proxy's IPVS dummy, and overlay or tunnel
// devices. Service IPs must be answered on the node's uplinks only.
func DefaultExcludes() []string {
	return []string{
		"lo",
		"docker*", "br-*", "veth*", "virbr*", "lxc*", "lxcbr*",
		"cni*", "cali*", "flannel*", "cilium*", "weave*", "vethwe*", "datapath",
		"antrea-*", "ovs-system", "genev*", "kube-ipvs*", "kube-bridge",
		"kube-dummy-if", "nodelocaldns", "nodelocaldns*",
		"vxlan*", "tunl*", "tun*", "tap*", "wg*", "gre*", "ip6tnl*", "sit*",
		"dummy*",
	}
}

// validatePatterns reports the first malformed pattern.
func validatePatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return &patternError{pattern: p, err: err}
		}
	}
	return nil
}

type patternError struct {
	pattern string
	err     error
}

func (e *patternError) Error() string { return "exclude pattern " + e.pattern + ": " + e.err.Error() }
func (e *patternError) Unwrap() error { return e.err }

// excluded reports whether name matches one of the patterns. Patterns are
// validated in New, so match errors cannot happen here.
func excluded(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// usable reports whether the Announcer may answer on l: up with carrier,
// Ethernet-like (broadcast capable, 6-byte MAC), not enslaved, not loopback
// and not excluded by name.
func usable(l Link, excludes []string) bool {
	const need = net.FlagUp | net.FlagRunning | net.FlagBroadcast
	switch {
	case l.Flags&need != need, l.Flags&net.FlagLoopback != 0:
		return false
	case len(l.MAC) != 6, l.HasMaster:
		return false
	}
	return !excluded(l.Name, excludes)
}

// toInterface summarises a link's addresses for the Announcer.
func toInterface(l Link) Interface {
	ifi := Interface{
		Name:      l.Name,
		Index:     l.Index,
		MAC:       slices.Clone(l.MAC),
		Multicast: l.Flags&net.FlagMulticast != 0,
	}
	for _, p := range l.Addrs {
		a := p.Addr()
		switch {
		case a.Is4():
			ifi.HasIPv4 = true
		case a.Is6():
			ifi.HasIPv6 = true
			if a.IsLinkLocalUnicast() && !ifi.LinkLocal.IsValid() && !slices.Contains(l.Tentative, a) {
				ifi.LinkLocal = a
			}
		}
		if a.IsGlobalUnicast() && p.Bits() < a.BitLen() {
			ifi.Prefixes = append(ifi.Prefixes, p.Masked())
		}
	}
	slices.SortFunc(ifi.Prefixes, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	})
	ifi.Prefixes = slices.Compact(ifi.Prefixes)
	return ifi
}

// usableInterfaces selects the usable links, sorted by name.
func usableInterfaces(links []Link, excludes []string) []Interface {
	var out []Interface
	for _, l := range links {
		if usable(l, excludes) {
			out = append(out, toInterface(l))
		}
	}
	slices.SortFunc(out, func(a, b Interface) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sameInterfaces reports whether two sorted interface lists are equal.
func sameInterfaces(a, b []Interface) bool {
	return slices.EqualFunc(a, b, Interface.equal)
}

// macKey is a 6-byte MAC address usable as a map key.
type macKey [6]byte

// keyOf converts a MAC to a key; ok is false unless it has 6 bytes.
func keyOf(mac net.HardwareAddr) (macKey, bool) {
	var k macKey
	if len(mac) != len(k) {
		return k, false
	}
	copy(k[:], mac)
	return k, true
}

// localMACs collects the MACs of every link of the host, usable or not: a
// frame from any of them is our own (for example one sent on another port of
// the same segment) and is neither answered nor reported as foreign.
func localMACs(links []Link) map[macKey]struct{} {
	out := make(map[macKey]struct{}, len(links))
	for _, l := range links {
		if k, ok := keyOf(l.MAC); ok && k != (macKey{}) {
			out[k] = struct{}{}
		}
	}
	return out
}
