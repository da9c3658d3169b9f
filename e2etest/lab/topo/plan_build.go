package topo

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Segment numbers, used as the third byte of MAC addresses.
const (
	segLAN = iota
	segOutside
	segHop2
	segP2P
	segSeg2
)

// p2pRouterHost offsets the host number of the router's end of a node's
// unnumbered link from the node's own (both in segment segP2P).
const p2pRouterHost = 128

// Plan computes the topology for spec. It is pure.
func Plan(spec Spec) (*Topology, error) {
	if spec.Nodes < 1 || spec.Nodes > MaxNodes {
		return nil, fmt.Errorf("%w: %d nodes, want 1..%d", ErrBadSpec, spec.Nodes, MaxNodes)
	}
	if spec.Prefix == "" {
		return nil, fmt.Errorf("%w: empty namespace prefix", ErrBadSpec)
	}
	if spec.Segment2 && spec.Nodes < 2 {
		return nil, fmt.Errorf("%w: a second segment needs 2 nodes at least, have %d", ErrBadSpec, spec.Nodes)
	}
	if rl := spec.RootLink; rl != nil && (rl.Name == "" || len(rl.Name) > 15) {
		return nil, fmt.Errorf("%w: root link name %q must have 1..15 bytes", ErrBadSpec, rl.Name)
	}
	t := &Topology{Spec: spec, Bridge: netns.NS(spec.Prefix + "lan")}
	for i := 1; i <= spec.Nodes; i++ {
		t.Hosts = append(t.Hosts, lanHost(spec.Prefix, fmt.Sprintf("node%d", i), RoleNode, firstNode+i-1))
	}
	t.Hosts = append(t.Hosts,
		lanHost(spec.Prefix, "client", RoleClient, ClientOctet),
		controlHost(spec),
		routerHost(spec),
		pointHost(spec.Prefix, "outside", RoleOutside, segOutside, OutsideV4, OutsideV6),
	)
	t.Links = append(t.Links, Link{A: "router", AIface: "eth1", B: "outside", BIface: "eth0"})
	if spec.Router2 {
		t.Hosts = append(t.Hosts, pointHost(spec.Prefix, "router2", RoleRouter2, segHop2, Hop2V4, Hop2V6))
		t.Links = append(t.Links, Link{A: "router", AIface: "eth2", B: "router2", BIface: "eth0"})
	}
	if spec.Unnumbered {
		t.addUnnumbered()
	}
	if spec.Segment2 {
		t.addSegment2()
	}
	return t, nil
}

// addSegment2 moves the last node onto the second segment, and adds the
// segment's client and the router's interface there.
func (t *Topology) addSegment2() {
	last := -1
	for i, h := range t.Hosts {
		if h.Role == RoleNode {
			last = i
		}
	}
	n := &t.Hosts[last]
	octet := int(n.MAC()[5])
	n.Ifaces[0] = seg2Iface("eth0", "v-"+n.Name, octet)
	n.GatewayV4, n.GatewayV6 = addr(Seg2V4, RouterOctet), addr(Seg2V6, RouterOctet)
	c := Host{Name: Seg2ClientName, Role: RoleClient, NS: netns.NS(t.Spec.Prefix + Seg2ClientName),
		Ifaces:    []Iface{seg2Iface("eth0", "v-"+Seg2ClientName, ClientOctet)},
		GatewayV4: addr(Seg2V4, RouterOctet), GatewayV6: addr(Seg2V6, RouterOctet)}
	t.Hosts = append(t.Hosts, c)
	ri := slices.IndexFunc(t.Hosts, func(h Host) bool { return h.Role == RoleRouter })
	t.Hosts[ri].Ifaces = append(t.Hosts[ri].Ifaces, seg2Iface(RouterSeg2Iface, "v2-router", RouterOctet))
}

// seg2Iface is an interface on the second segment, cabled to its bridge
// through port.
func seg2Iface(name, port string, octet int) Iface {
	return Iface{
		Name:       name,
		MAC:        mac(segSeg2, octet),
		V4:         netip.PrefixFrom(addr(Seg2V4, octet), Seg2V4.Bits()),
		V6:         netip.PrefixFrom(addr(Seg2V6, octet), Seg2V6.Bits()),
		BridgePort: port,
		Bridge:     Bridge2Name,
	}
}

// addUnnumbered links every node to the router point-to-point, with no
// addresses but the kernel's link-local ones (derived from fixed MACs). The
// node creates the pair (it is side A), so both ends exist when the
// router's batch brings its end up.
func (t *Topology) addUnnumbered() {
	ri := slices.IndexFunc(t.Hosts, func(h Host) bool { return h.Role == RoleRouter })
	for i := range t.Hosts {
		h := &t.Hosts[i]
		if h.Role != RoleNode {
			continue
		}
		octet := int(h.MAC()[5])
		h.Ifaces = append(h.Ifaces, Iface{Name: NodeP2PIface, MAC: mac(segP2P, octet)})
		rname := RouterP2PIface(h.Name)
		t.Hosts[ri].Ifaces = append(t.Hosts[ri].Ifaces, Iface{Name: rname, MAC: mac(segP2P, p2pRouterHost+octet)})
		t.Links = append(t.Links, Link{A: h.Name, AIface: NodeP2PIface, B: "router", BIface: rname})
	}
}

func lanHost(prefix, name string, role Role, octet int) Host {
	h := Host{Name: name, Role: role, NS: netns.NS(prefix + name)}
	h.Ifaces = []Iface{{
		Name:       "eth0",
		MAC:        mac(segLAN, octet),
		V4:         netip.PrefixFrom(addr(LANv4, octet), LANv4.Bits()),
		V6:         netip.PrefixFrom(addr(LANv6, octet), LANv6.Bits()),
		BridgePort: "v-" + name,
	}}
	if role != RoleRouter {
		h.GatewayV4, h.GatewayV6 = addr(LANv4, RouterOctet), addr(LANv6, RouterOctet)
	}
	return h
}

func controlHost(spec Spec) Host {
	h := lanHost(spec.Prefix, "ctl", RoleControl, ControlOctet)
	if rl := spec.RootLink; rl != nil {
		h.Ifaces = append(h.Ifaces, Iface{Name: "eth1", V4: rl.CtlV4, V6: rl.CtlV6})
	}
	return h
}

func routerHost(spec Spec) Host {
	h := lanHost(spec.Prefix, "router", RoleRouter, RouterOctet)
	h.Forwarding = true
	h.Ifaces = append(h.Ifaces, pointIface("eth1", segOutside, OutsideV4, OutsideV6, 1))
	if spec.Router2 {
		h.Ifaces = append(h.Ifaces, pointIface("eth2", segHop2, Hop2V4, Hop2V6, 1))
	}
	return h
}

// pointHost is a host at the far end of a router's point-to-point segment:
// address .2, default route through the router's .1.
func pointHost(prefix, name string, role Role, seg int, v4, v6 netip.Prefix) Host {
	return Host{
		Name:       name,
		Role:       role,
		NS:         netns.NS(prefix + name),
		Ifaces:     []Iface{pointIface("eth0", seg, v4, v6, 2)},
		GatewayV4:  addr(v4, 1),
		GatewayV6:  addr(v6, 1),
		Forwarding: role == RoleRouter2,
	}
}

func pointIface(name string, seg int, v4, v6 netip.Prefix, octet int) Iface {
	return Iface{
		Name: name,
		MAC:  mac(seg, octet),
		V4:   netip.PrefixFrom(addr(v4, octet), v4.Bits()),
		V6:   netip.PrefixFrom(addr(v6, octet), v6.Bits()),
	}
}

// addr returns host number n in prefix. For IPv6 the decimal digits of n
// are used as hex digits, so that host 11 is ::11 as it is .11 in IPv4.
func addr(p netip.Prefix, n int) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	if p.Addr().Is4() {
		b[3] = byte(n)
		return netip.AddrFrom4([4]byte(b))
	}
	v, _ := strconv.ParseUint(strconv.Itoa(n), 16, 16)
	b[14], b[15] = byte(v>>8), byte(v)
	return netip.AddrFrom16([16]byte(b))
}

// mac returns 02:77:SS:00:00:HH for segment SS and host number HH.
func mac(seg, host int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x77, byte(seg), 0, 0, byte(host)}
}

// Host returns the host named name.
func (t *Topology) Host(name string) (Host, bool) {
	for _, h := range t.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// MustHost returns the host named name and panics if there is none: for
// the fixed names (client, router, ctl, outside, nodeN within range).
func (t *Topology) MustHost(name string) Host {
	h, ok := t.Host(name)
	if !ok {
		panic(fmt.Sprintf("topo: no host %q", name))
	}
	return h
}

// Nodes returns the node hosts in order.
func (t *Topology) Nodes() []Host {
	var out []Host
	for _, h := range t.Hosts {
		if h.Role == RoleNode {
			out = append(out, h)
		}
	}
	return out
}

// HostByMAC returns the host owning the interface with MAC address mac.
func (t *Topology) HostByMAC(mac net.HardwareAddr) (Host, bool) {
	for _, h := range t.Hosts {
		for _, i := range h.Ifaces {
			if i.MAC.String() == mac.String() {
				return h, true
			}
		}
	}
	return Host{}, false
}

// LinkLocal returns the interface's IPv6 link-local address, derived from
// its MAC (modified EUI-64), as the kernel makes it. Routers often use it as
// the next hop of IPv6 routes.
func (i Iface) LinkLocal() netip.Addr {
	if len(i.MAC) != 6 {
		return netip.Addr{}
	}
	m := i.MAC
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]})
}

// HostByAddr returns the host with interface address a (global or
// link-local).
func (t *Topology) HostByAddr(a netip.Addr) (Host, bool) {
	for _, h := range t.Hosts {
		for _, i := range h.Ifaces {
			if i.V4.Addr() == a || i.V6.Addr() == a || (i.MAC != nil && i.LinkLocal() == a) {
				return h, true
			}
		}
	}
	return Host{}, false
}

// Namespaces returns every namespace of the topology, bridge first.
func (t *Topology) Namespaces() []netns.NS {
	out := []netns.NS{t.Bridge}
	for _, h := range t.Hosts {
		out = append(out, h.NS)
	}
	return out
}
