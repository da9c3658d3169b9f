package topo

import (
	"cmp"
	"fmt"
	"net/netip"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Sysctl is one sysctl setting in one namespace.
type Sysctl struct {
	NS       netns.NS
	Key      string
	Value    string
	Optional bool // skipped when the kernel lacks the key
}

// Batch is a list of `ip` commands run in one namespace by one process.
type Batch struct {
	NS    netns.NS
	Lines []string
}

// Script is the ordered work that builds a topology: create the
// namespaces, set their sysctls (before any interface exists, so that DAD
// and router advertisements never apply), then run the batches in order.
type Script struct {
	Namespaces []netns.NS
	Sysctls    []Sysctl
	Batches    []Batch
}

// Script returns the work that builds t. It is pure.
func (t *Topology) Script() Script {
	s := Script{Namespaces: t.Namespaces()}
	s.Sysctls = append(s.Sysctls, bridgeSysctls(t.Bridge)...)
	for _, h := range t.Hosts {
		s.Sysctls = append(s.Sysctls, hostSysctls(h)...)
	}
	s.Batches = append(s.Batches, Batch{NS: t.Bridge, Lines: t.bridgeLines()})
	if rl := t.Spec.RootLink; rl != nil {
		s.Batches = append(s.Batches, Batch{NS: netns.Root, Lines: rootLines(*rl, t.MustHost("ctl").NS)})
	}
	for _, h := range t.Hosts {
		s.Batches = append(s.Batches, Batch{NS: h.NS, Lines: t.hostLines(h)})
	}
	return s
}

func noDADSysctls(ns netns.NS) []Sysctl {
	return []Sysctl{
		{NS: ns, Key: "net.ipv6.conf.all.accept_dad", Value: "0"},
		{NS: ns, Key: "net.ipv6.conf.default.accept_dad", Value: "0"},
		{NS: ns, Key: "net.ipv6.conf.all.accept_ra", Value: "0"},
		{NS: ns, Key: "net.ipv6.conf.default.accept_ra", Value: "0"},
	}
}

func bridgeSysctls(ns netns.NS) []Sysctl {
	out := noDADSysctls(ns)
	for _, k := range []string{"iptables", "ip6tables", "arptables"} {
		out = append(out, Sysctl{NS: ns, Key: "net.bridge.bridge-nf-call-" + k, Value: "0", Optional: true})
	}
	return out
}

func hostSysctls(h Host) []Sysctl {
	out := noDADSysctls(h.NS)
	if h.Role == RoleNode {
		out = append(out,
			Sysctl{NS: h.NS, Key: "net.ipv4.conf.all.arp_ignore", Value: "1"},
			Sysctl{NS: h.NS, Key: "net.ipv4.conf.all.arp_announce", Value: "2"})
	}
	if h.Forwarding {
		out = append(out,
			Sysctl{NS: h.NS, Key: "net.ipv4.ip_forward", Value: "1"},
			Sysctl{NS: h.NS, Key: "net.ipv6.conf.all.forwarding", Value: "1"})
	}
	return out
}

// bridgeLines create the bridges and, for every interface on one, a veth
// pair whose host end (with the interface's name and fixed MAC) lands
// directly in the host's namespace.
func (t *Topology) bridgeLines() []string {
	lines := []string{"link set lo up"}
	bridges := []string{BridgeName}
	if t.Spec.Segment2 {
		bridges = append(bridges, Bridge2Name)
	}
	for _, b := range bridges {
		lines = append(lines,
			fmt.Sprintf("link add %s type bridge stp_state 0 forward_delay 0", b),
			fmt.Sprintf("link set %s up", b))
	}
	for _, h := range t.Hosts {
		for _, i := range h.Ifaces {
			if i.BridgePort == "" {
				continue
			}
			lines = append(lines,
				fmt.Sprintf("link add %s type veth peer name %s address %s netns %s", i.BridgePort, i.Name, i.MAC, h.NS),
				fmt.Sprintf("link set %s master %s up", i.BridgePort, cmp.Or(i.Bridge, BridgeName)))
		}
	}
	return lines
}

func rootLines(rl RootLink, ctl netns.NS) []string {
	return []string{
		fmt.Sprintf("link add %s type veth peer name eth1 netns %s", rl.Name, ctl),
		fmt.Sprintf("addr add %s dev %s", rl.RootV4, rl.Name),
		fmt.Sprintf("addr add %s dev %s nodad", rl.RootV6, rl.Name),
		fmt.Sprintf("link set %s up", rl.Name),
	}
}

// hostLines create the host's point-to-point links (where it is side A),
// then address its interfaces and set its default routes.
func (t *Topology) hostLines(h Host) []string {
	lines := []string{"link set lo up"}
	for _, l := range t.Links {
		if l.A != h.Name {
			continue
		}
		a, _ := h.Iface(l.AIface)
		peer := t.MustHost(l.B)
		b, _ := peer.Iface(l.BIface)
		lines = append(lines, fmt.Sprintf("link add %s address %s type veth peer name %s address %s netns %s",
			a.Name, a.MAC, b.Name, b.MAC, peer.NS))
	}
	for _, i := range h.Ifaces {
		lines = append(lines, addrLines(i)...)
	}
	for _, gw := range []netip.Addr{h.GatewayV4, h.GatewayV6} {
		if gw.IsValid() {
			lines = append(lines, fmt.Sprintf("route add default via %s", gw))
		}
	}
	return lines
}

func addrLines(i Iface) []string {
	var lines []string
	if i.V4.IsValid() {
		lines = append(lines, fmt.Sprintf("addr add %s dev %s", i.V4, i.Name))
	}
	if i.V6.IsValid() {
		lines = append(lines, fmt.Sprintf("addr add %s dev %s nodad", i.V6, i.Name))
	}
	return append(lines, fmt.Sprintf("link set %s up", i.Name))
}
