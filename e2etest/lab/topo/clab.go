package topo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pylonlb/pylon/e2etest/lab/clab"
)

// Images named in the containerlab rendering. The lab uses none (hosts
// are namespaces of this machine); a containerlab user runs these.
var ClabImages = map[Role]string{
	RoleNode:    "pylonlab/k8s-node:v1.37.2",
	RoleClient:  "pylonlab/client:lab",
	RoleControl: "pylonlab/k8s-control-plane:v1.37.2",
	RoleRouter:  "quay.io/frrouting/frr:8.4.4",
	RoleOutside: "pylonlab/client:lab",
	RoleRouter2: "quay.io/frrouting/frr:8.4.4",
}

// ClabSwitch is the LAN bridge's node name in the containerlab rendering.
const ClabSwitch = "switch"

// ClabSwitch2 is the second segment's bridge (Spec.Segment2).
const ClabSwitch2 = "switch2"

// RoleLabel is the label naming a node's role in the containerlab file.
const RoleLabel = "pylon.role"

// clabIface maps a lab interface to containerlab's name: containerlab
// keeps eth0 for its management network, so the lab's ethN is eth(N+1).
func clabIface(name string) string {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "eth"))
	if err != nil {
		return name
	}
	return fmt.Sprintf("eth%d", n+1)
}

// Containerlab renders the topology in containerlab's format: one linux
// node per host (its addresses, MACs, routes and sysctls as exec
// commands), the LAN as a bridge node, and the links. The root link to
// ctl is the lab's own management path and is left out. It is pure.
func (t *Topology) Containerlab(name string) *clab.Topology {
	out := &clab.Topology{Name: name, Topology: clab.Body{Nodes: map[string]clab.Node{
		ClabSwitch: {Kind: clab.KindBridge},
	}}}
	if t.Spec.Segment2 {
		out.Topology.Nodes[ClabSwitch2] = clab.Node{Kind: clab.KindBridge}
	}
	ports := map[string]int{}
	for _, h := range t.Hosts {
		n := clab.Node{Kind: clab.KindLinux, Image: ClabImages[h.Role], Labels: map[string]string{RoleLabel: h.Role.String()}}
		for _, i := range h.Ifaces {
			if t.Spec.RootLink != nil && h.Role == RoleControl && i.Name != "eth0" {
				continue
			}
			dev := clabIface(i.Name)
			if i.MAC != nil {
				n.Exec = append(n.Exec, fmt.Sprintf("ip link set dev %s address %s", dev, i.MAC))
			}
			if i.V4.IsValid() {
				n.Exec = append(n.Exec, fmt.Sprintf("ip addr add %s dev %s", i.V4, dev))
			}
			if i.V6.IsValid() {
				n.Exec = append(n.Exec, fmt.Sprintf("ip -6 addr add %s dev %s nodad", i.V6, dev))
			}
			if i.BridgePort != "" {
				sw := ClabSwitch
				if i.Bridge == Bridge2Name {
					sw = ClabSwitch2
				}
				ports[sw]++
				out.Topology.Links = append(out.Topology.Links, clab.Link{Endpoints: []string{h.Name + ":" + dev, fmt.Sprintf("%s:eth%d", sw, ports[sw])}})
			}
		}
		if h.GatewayV4.IsValid() {
			n.Exec = append(n.Exec, "ip route add default via "+h.GatewayV4.String())
		}
		if h.GatewayV6.IsValid() {
			n.Exec = append(n.Exec, "ip -6 route add default via "+h.GatewayV6.String())
		}
		if h.Role == RoleNode {
			n.Exec = append(n.Exec, "sysctl -w net.ipv4.conf.all.arp_ignore=1", "sysctl -w net.ipv4.conf.all.arp_announce=2")
		}
		if h.Forwarding {
			n.Exec = append(n.Exec, "sysctl -w net.ipv4.ip_forward=1", "sysctl -w net.ipv6.conf.all.forwarding=1")
		}
		out.Topology.Nodes[h.Name] = n
	}
	for _, l := range t.Links {
		out.Topology.Links = append(out.Topology.Links, clab.Link{Endpoints: []string{
			l.A + ":" + clabIface(l.AIface), l.B + ":" + clabIface(l.BIface)}})
	}
	return out
}

// SpecFromClab derives the lab's Spec from a containerlab topology and
// checks that the lab realises exactly that topology (the same hosts,
// roles, links, addresses and routes; images may differ). The nodes are
// the hosts labelled pylon.role: node (node1..nodeN); a host router2 adds
// the second router, a bridge switch2 the second segment. prefix and
// rootLink are the run's.
func SpecFromClab(t *clab.Topology, prefix string, rootLink *RootLink) (Spec, error) {
	spec := Spec{Prefix: prefix, RootLink: rootLink}
	_, spec.Segment2 = t.Topology.Nodes[ClabSwitch2]
	for name, n := range t.Topology.Nodes {
		switch n.Labels[RoleLabel] {
		case RoleNode.String():
			spec.Nodes++
		case RoleRouter2.String():
			spec.Router2 = true
		case "":
			if n.Kind == clab.KindLinux {
				return spec, fmt.Errorf("%w: node %q: no %s label (node, client, control, router, outside or router2)", clab.ErrInvalid, name, RoleLabel)
			}
		}
	}
	plan, err := Plan(spec)
	if err != nil {
		return spec, fmt.Errorf("topology %s: %w", t.Name, err)
	}
	if diff := clabDiff(plan.Containerlab(t.Name), t); len(diff) > 0 {
		return spec, fmt.Errorf("%w: the lab cannot realise topology %s as written: %s", clab.ErrInvalid, t.Name, strings.Join(diff, "; "))
	}
	return spec, nil
}

// clabDiff lists how got differs from want, images aside.
func clabDiff(want, got *clab.Topology) []string {
	var out []string
	for _, name := range want.NodeNames() {
		g, ok := got.Topology.Nodes[name]
		w := want.Topology.Nodes[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("node %q is missing", name))
		case g.Kind != w.Kind:
			out = append(out, fmt.Sprintf("node %q: kind %q, want %q", name, g.Kind, w.Kind))
		case g.Labels[RoleLabel] != w.Labels[RoleLabel]:
			out = append(out, fmt.Sprintf("node %q: role %q, want %q", name, g.Labels[RoleLabel], w.Labels[RoleLabel]))
		case !slices.Equal(g.Exec, w.Exec):
			out = append(out, fmt.Sprintf("node %q: exec %q, want %q", name, g.Exec, w.Exec))
		}
	}
	for _, name := range got.NodeNames() {
		if _, ok := want.Topology.Nodes[name]; !ok {
			out = append(out, fmt.Sprintf("node %q is not one the lab makes", name))
		}
	}
	links := func(t *clab.Topology) []string {
		var s []string
		for _, l := range t.Topology.Links {
			e := slices.Clone(l.Endpoints)
			slices.Sort(e)
			s = append(s, strings.Join(e, " -- "))
		}
		slices.Sort(s)
		return s
	}
	if w, g := links(want), links(got); !slices.Equal(w, g) {
		out = append(out, fmt.Sprintf("links %q, want %q", g, w))
	}
	return out
}
