package l2

import (
	"maps"
	"net/netip"
	"slices"
)

// ipSet is a set of service IPs.
type ipSet map[netip.Addr]struct{}

// plan maps an interface name to the IPs answered on it.
type plan map[string]ipSet

// normalize returns a copy of the desired announcements with addresses
// unmapped and zones dropped, invalid addresses removed and name lists
// copied, so that later calls cannot alias the caller's data.
func normalize(want map[netip.Addr][]string) map[netip.Addr][]string {
	out := make(map[netip.Addr][]string, len(want))
	for ip, names := range want {
		ip = ip.Unmap().WithZone("")
		if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
			continue
		}
		out[ip] = append(out[ip], names...)
	}
	return out
}

// wants reports whether ip is answered on ifi. With no names, IPv4 goes to
// every usable interface with an IPv4 address and IPv6 to every usable
// interface with IPv6 enabled. Named interfaces are used when usable, whatever
// their addresses. IPv6 always needs multicast, to receive solicitations.
func wants(ip netip.Addr, names []string, ifi Interface) bool {
	if ip.Is6() && !ifi.Multicast {
		return false
	}
	if len(names) > 0 {
		return slices.Contains(names, ifi.Name)
	}
	if ip.Is4() {
		return ifi.HasIPv4
	}
	return ifi.HasIPv6
}

// makePlan computes which IPs each usable interface answers for. Every
// usable interface gets an entry, possibly empty.
func makePlan(want map[netip.Addr][]string, ifaces []Interface) plan {
	p := make(plan, len(ifaces))
	for _, ifi := range ifaces {
		set := ipSet{}
		for ip, names := range want {
			if wants(ip, names, ifi) {
				set[ip] = struct{}{}
			}
		}
		p[ifi.Name] = set
	}
	return p
}

// change is the difference for one interface between two plans.
type change struct {
	added, removed []netip.Addr
}

// diffPlans returns, per interface, the IPs added and removed going from
// old to new. Interfaces without change are left out; lists are sorted.
func diffPlans(old, new plan) map[string]change {
	out := map[string]change{}
	for _, name := range unionKeys(old, new) {
		var c change
		for ip := range new[name] {
			if _, ok := old[name][ip]; !ok {
				c.added = append(c.added, ip)
			}
		}
		for ip := range old[name] {
			if _, ok := new[name][ip]; !ok {
				c.removed = append(c.removed, ip)
			}
		}
		if len(c.added)+len(c.removed) > 0 {
			slices.SortFunc(c.added, netip.Addr.Compare)
			slices.SortFunc(c.removed, netip.Addr.Compare)
			out[name] = c
		}
	}
	return out
}

func unionKeys(a, b plan) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
