package ipam

import (
	"fmt"
	"net/netip"
	"slices"
)

// SetReserved replaces the set of reserved addresses: addresses the
// allocator never hands out, typically the network's own (a node's, a
// router's, a subnet's network or broadcast address). A reserved address
// is skipped by automatic allocation and refused, with its reason and
// ErrReservedIP, to a service that asks for it or wants to share it.
//
// A service that already holds a reserved address keeps it (Allocate
// keeps it as any held address, and Assign restores it): a configuration
// or a node change never takes a working address away. Find such
// services with Holders.
//
// Addresses may lie outside every pool; they take effect when a pool comes
// to contain them. An address listed twice keeps its first reason. Cost:
// O(len(res)) plus O(log intervals) per address whose reservation changed.
// On error nothing changes.
func (a *Allocator) SetReserved(res []Reservation) error {
	next := make(map[netip.Addr]string, len(res))
	for _, r := range res {
		ip := r.Addr.Unmap()
		if !ip.IsValid() || ip.Zone() != "" {
			return fmt.Errorf("set reserved addresses: %q (%s) is not a plain address: %w", r.Addr, r.Reason, ErrInvalidConfig)
		}
		if _, dup := next[ip]; !dup {
			next[ip] = r.Reason
		}
	}
	for ip := range a.reserved {
		if _, keep := next[ip]; !keep {
			delete(a.reserved, ip)
			a.setReserved(ip, false)
		}
	}
	for ip, why := range next {
		_, had := a.reserved[ip]
		a.reserved[ip] = why
		if !had {
			a.setReserved(ip, true)
		}
	}
	return nil
}

// setReserved moves an address of a pool out of (or back into) its free
// set. A held address is not in the free set: only the bookkeeping of its
// eventual release changes, which reads a.reserved.
func (a *Allocator) setReserved(ip netip.Addr, on bool) {
	p := a.poolOf(ip)
	if p == nil || a.ips[ip] != nil {
		return
	}
	f := FamilyOf(ip)
	fs := &p.fams[f]
	if on {
		fs.reserve(toU128(ip))
	} else {
		fs.unreserve(toU128(ip))
	}
	if p.rank >= 0 {
		a.nonFull[f].set(p.rank, !fs.free.empty())
	}
}

// Reserved returns why an address is reserved, and whether it is.
func (a *Allocator) Reserved(ip netip.Addr) (string, bool) {
	why, ok := a.reserved[ip.Unmap()]
	return why, ok
}

// Holders returns the keys of the services holding an address, sorted.
func (a *Allocator) Holders(ip netip.Addr) []string {
	use := a.ips[ip.Unmap()]
	if use == nil {
		return nil
	}
	keys := make([]string, len(use.holders))
	for i, h := range use.holders {
		keys[i] = h.key
	}
	return slices.Clip(keys)
}

// reservedErr explains that ip, of pool p, is reserved, or returns nil.
func (a *Allocator) reservedErr(p *poolState, ip netip.Addr) error {
	why, ok := a.reserved[ip]
	if !ok {
		return nil
	}
	return fmt.Errorf("IP %s of pool %q is reserved: %s: %w", ip, p.name, why, ErrReservedIP)
}
