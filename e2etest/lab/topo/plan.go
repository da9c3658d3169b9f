// Package topo plans and builds the lab's network out of namespaces, veth
// pairs and one Linux bridge.
//
// The layout (see DESIGN in the e2etest README):
//
//		           LAN 192.168.77.0/24, fd00:77::/64, bridge br0 in namespace "lan"
//		 ┌────────┬────────┬────────┬──────────┬──────────┐
//		node1    node2    nodeN    client     ctl        router ── eth1 ── outside
//		.11      .12      .1N      .2         .250       .254      192.168.78.0/24
//		                                       │           └─ eth2 ── router2 (optional)
//		                              root ns ─┘ (per-run point-to-point link)
//
//	  - nodes: where speakers run; arp_ignore=1/arp_announce=2 so a service IP
//	    placed on lo is never answered by the kernel itself;
//	  - client: a plain Linux host on the LAN, for L2 tests (its neighbour
//	    table shows who answers ARP/NDP);
//	  - router: a real router (forwarding on) where FRR or BIRD run; nodes use
//	    it as their default gateway;
//	  - outside: a host behind the router, reachable only through it, for BGP
//	    tests (it reaches a service IP only through routes learnt by BGP);
//	  - ctl: etcd, kube-apiserver and the controller; also linked to the root
//	    namespace so the test process reaches the API server;
//	  - router2: an optional second router behind router, for multi-hop BGP;
//	  - with Spec.Unnumbered, a point-to-point link from each node ("p2p0")
//	    to the router ("p2p-nodeN") with IPv6 link-local addresses only, for
//	    unnumbered BGP sessions.
//
// [Plan] is pure: it turns a [Spec] into a [Topology] (names, addresses,
// MACs). [Build] applies a topology with `ip`; [Topology.Destroy] removes it.
package topo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Address plan. The segments are private test ranges; several labs use the
// same addresses side by side, each inside its own namespaces.
var (
	LANv4     = netip.MustParsePrefix("192.168.77.0/24")
	LANv6     = netip.MustParsePrefix("fd00:77::/64")
	OutsideV4 = netip.MustParsePrefix("192.168.78.0/24")
	OutsideV6 = netip.MustParsePrefix("fd00:78::/64")
	Hop2V4    = netip.MustParsePrefix("192.168.79.0/24")
	Hop2V6    = netip.MustParsePrefix("fd00:79::/64")
	// Seg2V4 and Seg2V6 are the second LAN segment's (Spec.Segment2).
	Seg2V4 = netip.MustParsePrefix("192.168.81.0/24")
	Seg2V6 = netip.MustParsePrefix("fd00:81::/64")

	// L2PoolV4 and L2PoolV6 are free LAN ranges for L2 address pools.
	L2PoolV4 = netip.MustParsePrefix("192.168.77.128/26")
	L2PoolV6 = netip.MustParsePrefix("fd00:77::100/120")
	// BGPPoolV4 and BGPPoolV6 are off-LAN ranges for BGP address pools: the
	// outside host reaches them only through routes the router learnt.
	BGPPoolV4 = netip.MustParsePrefix("198.51.100.0/24")
	BGPPoolV6 = netip.MustParsePrefix("2001:db8:100::/64")
)

// Fixed host numbers on the LAN (last IPv4 octet; the IPv6 address uses the
// same digits, e.g. node1 is 192.168.77.11 and fd00:77::11).
const (
	ClientOctet  = 2
	firstNode    = 11
	MaxNodes     = 40
	ControlOctet = 250
	RouterOctet  = 254
)

// BridgeName is the LAN bridge inside the bridge namespace.
const BridgeName = "br0"

// Bridge2Name is the second segment's bridge (Spec.Segment2), in the same
// namespace.
const Bridge2Name = "br2"

// Seg2ClientName is the client host on the second segment.
const Seg2ClientName = "client2"

// RouterSeg2Iface is the router's interface on the second segment.
const RouterSeg2Iface = "eth3"

// NodeP2PIface is a node's end of its unnumbered link to the router
// (Spec.Unnumbered).
const NodeP2PIface = "p2p0"

// RouterP2PIface is the router's end of node's unnumbered link.
func RouterP2PIface(node string) string { return "p2p-" + node }

// Role says what a host is for.
type Role int

// Host roles.
const (
	RoleNode Role = iota
	RoleClient
	RoleControl
	RoleRouter
	RoleOutside
	RoleRouter2
)

var roleNames = [...]string{"node", "client", "control", "router", "outside", "router2"}

// String returns the role's name.
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Spec is what a caller asks for.
type Spec struct {
	// Prefix starts every namespace name, e.g. "plab-1a2b-"; it makes a run's
	// names unique on the machine.
	Prefix string
	// Nodes is the number of node namespaces (1..MaxNodes).
	Nodes int
	// Router2 adds a second router behind the first (multi-hop BGP).
	Router2 bool
	// Unnumbered adds a point-to-point link from every node (NodeP2PIface)
	// to the router (RouterP2PIface) with link-local addresses only.
	Unnumbered bool
	// Segment2 adds a second LAN segment (Seg2V4, Seg2V6, bridge
	// Bridge2Name) with its own client (Seg2ClientName) and the router
	// (RouterSeg2Iface, .254), and moves the last node onto it: that node
	// is on the second segment only (its eth0 there, same host number)
	// and reaches the others through the router. It needs 2 nodes at
	// least.
	Segment2 bool
	// RootLink, when set, links the root namespace to ctl.
	RootLink *RootLink
}

// RootLink is the point-to-point link from the root namespace to ctl. Its
// interface name in the root namespace and its addresses must be unique
// among the labs running on the machine.
type RootLink struct {
	Name          string       // interface name in the root namespace (≤ 15 bytes)
	RootV4, CtlV4 netip.Prefix // e.g. 169.254.3.4/31 and 169.254.3.5/31
	RootV6, CtlV6 netip.Prefix // e.g. fd00:77:ff:1a2b::1/64 and ::2/64
}

// Iface is one interface of a host.
type Iface struct {
	Name string
	MAC  net.HardwareAddr
	V4   netip.Prefix // address and prefix length
	V6   netip.Prefix
	// BridgePort is the name of the peer end on the LAN bridge ("" when the
	// interface is not on the LAN).
	BridgePort string
	// Bridge is the bridge BridgePort is on: BridgeName when empty.
	Bridge string
}

// Host is one namespace with its interfaces. Ifaces[0] is its primary
// interface: on the LAN for every LAN host.
type Host struct {
	Name       string // short name: node1, client, router, ctl, outside, router2
	Role       Role
	NS         netns.NS
	Ifaces     []Iface
	GatewayV4  netip.Addr // default route; invalid when none
	GatewayV6  netip.Addr
	Forwarding bool // a router
}

// IPv4 returns the address of the primary interface.
func (h Host) IPv4() netip.Addr { return h.Ifaces[0].V4.Addr() }

// IPv6 returns the global address of the primary interface.
func (h Host) IPv6() netip.Addr { return h.Ifaces[0].V6.Addr() }

// MAC returns the MAC address of the primary interface.
func (h Host) MAC() net.HardwareAddr { return h.Ifaces[0].MAC }

// Iface returns the interface named name.
func (h Host) Iface(name string) (Iface, bool) {
	for _, i := range h.Ifaces {
		if i.Name == name {
			return i, true
		}
	}
	return Iface{}, false
}

// Link is a veth pair between two hosts outside the LAN.
type Link struct {
	A, B           string // host names
	AIface, BIface string
}

// Topology is a planned lab network.
type Topology struct {
	Spec   Spec
	Bridge netns.NS // namespace holding the LAN bridge
	Hosts  []Host   // nodes in order, then client, ctl, router, outside[, router2][, client2]
	Links  []Link   // point-to-point links (router–outside, router–router2, node–router)
}

// ErrBadSpec is returned by Plan for an unusable spec.
var ErrBadSpec = errors.New("bad topology spec")
