package ipam

import (
	"fmt"
	"net/netip"
)

// Family is an IP address family.
type Family int

const (
	// IPv4 is the IPv4 family. It is the zero value.
	IPv4 Family = iota
	// IPv6 is the IPv6 family.
	IPv6
)

// String returns "IPv4" or "IPv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

func (f Family) valid() bool   { return f == IPv4 || f == IPv6 }
func (f Family) other() Family { return 1 - f }

// FamilyOf returns the family of a. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) count as IPv4: the allocator unmaps every address it is
// given.
func FamilyOf(a netip.Addr) Family {
	if a.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// FamilyPolicy is a Service's spec.ipFamilyPolicy.
type FamilyPolicy int

const (
	// SingleStack asks for one address, of the request's first family.
	SingleStack FamilyPolicy = iota
	// PreferDualStack asks for both families when a pool can give them.
	PreferDualStack
	// RequireDualStack asks for both families, from one pool, or nothing.
	RequireDualStack
)

// String returns the Kubernetes spelling of the policy.
func (p FamilyPolicy) String() string {
	switch p {
	case SingleStack:
		return "SingleStack"
	case PreferDualStack:
		return "PreferDualStack"
	case RequireDualStack:
		return "RequireDualStack"
	}
	return fmt.Sprintf("FamilyPolicy(%d)", int(p))
}

// Range is an inclusive address range. First and Last have the same family
// and First <= Last; SetPools rejects ranges that break this.
type Range struct{ First, Last netip.Addr }

// Selector matches a label set. Callers adapt their label selectors to it.
// The allocator calls it synchronously, from the goroutine calling
// Allocate or Assign, and never keeps the map.
type Selector interface {
	Matches(labels map[string]string) bool
}

// Policy is an IPAddressPool's serviceAllocation: which services may take
// addresses from the pool and how early the pool is tried.
type Policy struct {
	// Priority orders pools: lower is tried first. 0 means unset and sorts
	// after every positive priority.
	Priority int
	// Namespaces, when non-empty, lists the namespaces whose services the
	// pool admits.
	Namespaces []string
	// NamespaceSelectors, when non-empty, must contain one selector that
	// matches the service's namespace labels. Nil entries never match.
	NamespaceSelectors []Selector
	// ServiceSelectors, when non-empty, must contain one selector that
	// matches the service's labels. Nil entries never match.
	ServiceSelectors []Selector
}

// Pool is an address pool as the allocator sees it.
type Pool struct {
	// Name identifies the pool; it is unique.
	Name string
	// Ranges are the pool's addresses. They may mix families and be huge;
	// they must not overlap another pool's.
	Ranges []Range
	// AutoAssign lets the pool be chosen for services that name neither a
	// pool nor an IP.
	AutoAssign bool
	// AvoidBuggyIPs keeps IPv4 addresses ending in .0 or .255 from being
	// handed out.
	AvoidBuggyIPs bool
	// Allocation restricts and orders the pool; nil admits every service.
	Allocation *Policy
}

// Reservation is an address the allocator never hands out, with why.
type Reservation struct {
	// Addr is the reserved address.
	Addr netip.Addr
	// Reason says why, in words that complete "IP x is reserved: ..."
	// (e.g. `InternalIP of Node "n1"`); errors quote it.
	Reason string
}

// Port is one service port, for the sharing rules.
type Port struct {
	// Protocol is "TCP", "UDP" or "SCTP" (compared case-insensitively).
	Protocol string
	// Port is the port number.
	Port int32
}

// Request describes what a service wants.
type Request struct {
	// Key identifies the service, "namespace/name".
	Key string
	// Families comes from spec.ipFamilies, in order; empty means [IPv4].
	Families []Family
	// FamilyPolicy comes from spec.ipFamilyPolicy.
	FamilyPolicy FamilyPolicy
	// RequestedIPs are explicit addresses, at most one per family.
	RequestedIPs []netip.Addr
	// Pool is the requested pool name; "" lets the allocator choose.
	Pool string
	// SharingKey lets services share an address; "" never shares.
	SharingKey string
	// Ports are the service's ports; sharers must not overlap.
	Ports []Port
	// BackendKey identifies the service's backends; sharers must have equal
	// keys.
	BackendKey string
	// Namespace is the service's namespace.
	Namespace string
	// NamespaceLabels are the labels of the service's namespace.
	NamespaceLabels map[string]string
	// Labels are the service's labels.
	Labels map[string]string
}

// Assignment is what a service holds.
type Assignment struct {
	// Pool is the pool the addresses came from.
	Pool string
	// IPs are ordered as the request's families.
	IPs []netip.Addr
}

// PoolStats counts a pool's addresses. A shared address counts once.
// Available counts addresses that could still be handed out (buggy
// addresses excluded when the pool avoids them) and saturates at
// math.MaxInt64.
type PoolStats struct {
	AssignedIPv4, AssignedIPv6, AvailableIPv4, AvailableIPv6 int64
}
