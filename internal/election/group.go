package election

import (
	"cmp"
	"net/netip"
	"slices"
)

// Group is a set of service IPs that must be announced by the same node,
// elected together under Key.
type Group struct {
	// Key is the election key of the group: the lowest member address in
	// string form. It is stable as long as the lowest address stays.
	Key string
	// Members are the group's addresses, sorted ascending, without
	// duplicates.
	Members []netip.Addr
}

// GroupIPs joins IP sets that share an address into groups. Each input set
// holds the IPs of one service (for example both addresses of a dual-stack
// service). Two IPs land in the same group when any chain of services connects
// them, so a node that wins a group announces every IP a client may need to
// reach those services. Invalid (zero) addresses and empty sets are skipped.
// Addresses are compared as given: callers should unmap IPv4-mapped IPv6
// addresses first. The result is sorted by Key.
func GroupIPs(sets [][]netip.Addr) []Group {
	uf := newUnionFind()
	for _, set := range sets {
		var first netip.Addr
		for _, ip := range set {
			if !ip.IsValid() {
				continue
			}
			uf.add(ip)
			if first.IsValid() {
				uf.union(first, ip)
			} else {
				first = ip
			}
		}
	}
	return uf.groups()
}

// unionFind is a disjoint-set forest over addresses with path halving and
// union by size.
type unionFind struct {
	parent map[netip.Addr]netip.Addr
	size   map[netip.Addr]int
}

func newUnionFind() *unionFind {
	return &unionFind{parent: map[netip.Addr]netip.Addr{}, size: map[netip.Addr]int{}}
}

func (u *unionFind) add(a netip.Addr) {
	if _, ok := u.parent[a]; !ok {
		u.parent[a] = a
		u.size[a] = 1
	}
}

func (u *unionFind) find(a netip.Addr) netip.Addr {
	for u.parent[a] != a {
		u.parent[a] = u.parent[u.parent[a]]
		a = u.parent[a]
	}
	return a
}

func (u *unionFind) union(a, b netip.Addr) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}

// groups collects the members of every set, sorts them, and names each group
// by its lowest address.
func (u *unionFind) groups() []Group {
	byRoot := map[netip.Addr][]netip.Addr{}
	for a := range u.parent {
		r := u.find(a)
		byRoot[r] = append(byRoot[r], a)
	}
	out := make([]Group, 0, len(byRoot))
	for _, members := range byRoot {
		slices.SortFunc(members, netip.Addr.Compare)
		out = append(out, Group{Key: members[0].String(), Members: members})
	}
	slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
