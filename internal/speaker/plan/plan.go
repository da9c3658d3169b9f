// Package plan decides, as pure functions, what a speaker announces: in L2
// mode, which node owns each Service address and on which interfaces; in
// BGP mode, which prefixes this node advertises with which attributes.
//
// Every speaker computes the same L2 plan from the same inputs (live
// members, Nodes, Services, configuration), so exactly one node answers
// for an address without any coordination beyond membership. Inputs are
// plain values converted from Kubernetes objects at the edge.
package plan

import (
	"cmp"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// Service is what the plans need to know of one LoadBalancer Service.
type Service struct {
	// Key is the Service's namespace and name.
	Key types.NamespacedName
	// IPs are the Service's ingress addresses.
	IPs []netip.Addr
	// Labels are the Service's labels, for advertisement selectors.
	Labels map[string]string
	// Local is true for externalTrafficPolicy: Local.
	Local bool
	// ReadyNodes are the sorted names of nodes hosting a ready endpoint.
	ReadyNodes []string
	// AnyReady is true when the Service has a ready endpoint anywhere
	// (including endpoints not bound to a node).
	AnyReady bool
	// ReadyCount is the number of ready endpoints on each node of
	// ReadyNodes, for advertisements that weight paths by endpoints.
	ReadyCount map[string]int
}

// Node is what the plans need to know of one Kubernetes node.
type Node struct {
	// Name is the node's name.
	Name string
	// Labels are the node's labels, for node selectors.
	Labels map[string]string
	// Excluded is true when the node must not announce anything: it carries
	// the exclude-from-external-load-balancers label or its network is
	// unavailable.
	Excluded bool
	// ExcludedBy says why the node is excluded (ExcludedByLabel,
	// ExcludedByNetworkUnavailable), for explanations.
	ExcludedBy string
	// Cordoned is true for an unschedulable node (kubectl cordon or
	// drain): it is about to go away for maintenance. In L2 mode it keeps
	// an address only when no node that is not cordoned can answer for it,
	// so a drain moves addresses while the node still forwards traffic.
	Cordoned bool
}

// Member is one live speaker.
type Member struct {
	// Name is the speaker's node name.
	Name string
	// Interfaces are the speaker's usable L2 interfaces.
	Interfaces []string
	// Addrs are the address families and subnets of Interfaces (by name)
	// when AddrsKnown.
	Addrs []InterfaceAddrs
	// AddrsKnown is false for a speaker that publishes no addresses (one
	// of an earlier version): it is presumed to be on every subnet.
	AddrsKnown bool
	// Draining is true while the speaker hands its addresses over.
	Draining bool
}

// InterfaceAddrs are the address families and subnets of one usable
// interface of a member.
type InterfaceAddrs struct {
	// Name is the interface's name.
	Name string
	// IPv4 and IPv6 are true when the interface has an address of the
	// family.
	IPv4, IPv6 bool
	// Prefixes are the subnets of its addresses.
	Prefixes []netip.Prefix
}

// Reason says why an address is not announced.
type Reason string

// Reasons for not announcing an address.
const (
	ReasonNoPool          Reason = "NotInAnyPool"
	ReasonNoAdvertisement Reason = "NoAdvertisement"
	ReasonNoEndpoints     Reason = "NoReadyEndpoints"
	ReasonNoCandidate     Reason = "NoEligibleNode"
)

// Skipped is an address of a Service that is not announced, and why.
type Skipped struct {
	IP      netip.Addr
	Service types.NamespacedName
	Reason  Reason
}

// CompareKeys orders Service keys by namespace, then name.
func CompareKeys(x, y types.NamespacedName) int {
	return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
}

// hasReadyOn reports whether the Service may be announced from node: any
// ready endpoint for Cluster policy, a ready endpoint on that node for
// Local.
func (s *Service) hasReadyOn(node string) bool {
	if !s.Local {
		return s.AnyReady
	}
	_, ok := slices.BinarySearch(s.ReadyNodes, node)
	return ok
}
