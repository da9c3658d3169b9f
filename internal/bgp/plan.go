package bgp

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
)

// peerDiff returns the names of sessions to delete and to add so that
// current becomes desired. A changed session appears in both lists; an
// unchanged one in neither.
func peerDiff(current, desired map[string]PeerConfig) (remove, add []string) {
	for name, cur := range current {
		if want, ok := desired[name]; !ok || !equal(cur, want) {
			remove = append(remove, name)
		}
	}
	for name, want := range desired {
		if cur, ok := current[name]; !ok || !equal(cur, want) {
			add = append(add, name)
		}
	}
	slices.Sort(remove)
	slices.Sort(add)
	return remove, add
}

// equal compares two normalized values (sessions, paths) field by field,
// through pointers: one equality for everything the loop diffs, which a
// new field cannot escape.
func equal[T PeerConfig | Path](a, b T) bool { return reflect.DeepEqual(a, b) }

// targets reports whether p is meant for the session called name.
func targets(p Path, name string) bool {
	return len(p.Peers) == 0 || slices.Contains(p.Peers, name)
}

// carries reports whether the session can carry prefix: its own family
// always, the other family only with a next hop for it. An unnumbered
// session carries both (IPv4 with an IPv6 next hop, RFC 8950).
func carries(peer PeerConfig, prefix netip.Prefix) bool {
	if peer.Interface != "" {
		return true
	}
	if prefix.Addr().Is4() {
		return peer.Address.Is4() || peer.IPv4NextHop.IsValid()
	}
	return peer.Address.Is6() || peer.IPv6NextHop.IsValid()
}

// AnnouncedTo reports whether a Server announces p on the session peer
// (while it is Established): p must target it (Path.Peers) and the session
// must carry p's address family (its own, or the other one with a next hop
// for it).
func (p Path) AnnouncedTo(peer PeerConfig) bool {
	return targets(p, peer.Name) && carries(peer, p.Prefix)
}

// denyList returns, sorted, the prefixes of paths that must not be sent to
// the session called name (its export deny set).
func denyList(paths map[netip.Prefix]Path, name string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range paths {
		if !targets(p, name) {
			out = append(out, p.Prefix)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

// denyChange lists the sessions (among names) whose deny set must gain
// (deny) or lose (allow) the prefix when its path changes from old (nil if
// new) to p. Sessions in deny that old targeted already got the prefix and
// must have it withdrawn.
func denyChange(old *Path, p Path, names []string) (deny, allow []string) {
	for _, name := range names {
		was := old != nil && !targets(*old, name)
		now := !targets(p, name)
		switch {
		case now && !was:
			deny = append(deny, name)
		case was && !now:
			allow = append(allow, name)
		}
	}
	return deny, allow
}

// sentCounts counts, for every peer, the paths it announces.
func sentCounts(peers map[string]PeerConfig, paths map[netip.Prefix]Path) map[string]int {
	out := make(map[string]int, len(peers))
	for name, peer := range peers {
		n := 0
		for _, p := range paths {
			if p.AnnouncedTo(peer) {
				n++
			}
		}
		out[name] = n
	}
	return out
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
