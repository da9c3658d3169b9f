package routers

import (
	"context"
	"net/netip"
	"sort"
	"strings"
)

// Router is what suites need from any router (FRR, BIRD, GoBGP): sessions,
// BGP table, stop.
type Router interface {
	// Name returns the instance's name.
	Name() string
	// Sessions returns the state of every BGP neighbour.
	Sessions(ctx context.Context) ([]Session, error)
	// Routes returns every path in the BGP tables (both families).
	Routes(ctx context.Context) ([]Route, error)
	// Stop stops the router and removes its runtime files.
	Stop(ctx context.Context) error
}

// Session is the state of one BGP neighbour as the router sees it.
type Session struct {
	Peer     netip.Addr
	State    string // FSM state as the router names it: "Established", "Active", ...
	RemoteAS uint32
}

// Established reports whether the session is up.
func (s Session) Established() bool { return strings.EqualFold(s.State, "Established") }

// Route is one path for a prefix in a router's BGP table.
type Route struct {
	Prefix netip.Prefix
	// NextHop is the path's (global) next hop.
	NextHop netip.Addr
	// LinkLocalNextHop is the path's IPv6 link-local next hop, if any
	// (FRR): the only one of a path from an unnumbered session.
	LinkLocalNextHop netip.Addr
	// Peer is the neighbour the path came from (FRR, GoBGP; invalid for
	// local paths and for BIRD, which names the protocol instead: see From).
	Peer netip.Addr
	// From names the path's source: the peer address (FRR, GoBGP) or the
	// BGP protocol instance, e.g. "peer1" or "dyn1_2" (BIRD).
	From string
	// Best is the router's best path; Multipath paths are used for ECMP.
	Best, Multipath bool
	ASPath          string // "64501 64502"
	// LocalPref is 0 when the router did not report it.
	LocalPref uint32
	// Communities ("64500:7") and LargeCommunities ("64500:8:9"), when read
	// with attributes (FRR: RouteDetail; BIRD, GoBGP: always).
	Communities      []string
	LargeCommunities []string
	// ExtendedCommunities is FRR's rendering of the extended communities
	// (RouteDetail), e.g. "LB:64501:125000 (1.000 Mbps)" for link
	// bandwidth; empty for BIRD.
	ExtendedCommunities string
}

// SessionOf returns the session with peer.
func SessionOf(ss []Session, peer netip.Addr) (Session, bool) {
	for _, s := range ss {
		if s.Peer == peer {
			return s, true
		}
	}
	return Session{}, false
}

// CountEstablished returns how many sessions are established.
func CountEstablished(ss []Session) int {
	n := 0
	for _, s := range ss {
		if s.Established() {
			n++
		}
	}
	return n
}

// NextHops returns the sorted, distinct next hops of the paths for prefix.
func NextHops(rs []Route, prefix netip.Prefix) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, r := range rs {
		if r.Prefix == prefix && r.NextHop.IsValid() && !seen[r.NextHop] {
			seen[r.NextHop] = true
			out = append(out, r.NextHop)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// Prefixes returns the sorted, distinct prefixes of rs.
func Prefixes(rs []Route) []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for _, r := range rs {
		if !seen[r.Prefix] {
			seen[r.Prefix] = true
			out = append(out, r.Prefix)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Addr() != out[j].Addr() {
			return out[i].Addr().Less(out[j].Addr())
		}
		return out[i].Bits() < out[j].Bits()
	})
	return out
}

// parsePrefix parses "a.b.c.d/n", or a bare address as a host prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
