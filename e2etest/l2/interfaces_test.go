//go:build e2e

package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// Second segment: bridge seg2Bridge in the lab's bridge namespace, joined
// by the client and some nodes through an interface named seg2Iface that
// the other nodes do not have. Host numbers are the LAN's (client .2,
// nodeN .1N), in 192.168.80.0/24 with MACs 02:80:00:00:00:XX.
const (
	seg2Bridge = "br1"
	seg2Iface  = "eth1"
)

// seg2Addr returns a host's address on the second segment.
func seg2Addr(h topo.Host) netip.Prefix {
	b := h.IPv4().As4()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, 80, b[3]}), 24)
}

// seg2MAC returns a host's MAC on the second segment.
func seg2MAC(h topo.Host) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x80, 0, 0, 0, h.IPv4().As4()[3]}
}

// seg2Port is the bridge-side name of a host's cable.
func seg2Port(h topo.Host) string { return "s2-" + h.Name }

// addSegment2 builds the second segment with the client and the given
// nodes on it; t's cleanup removes it.
func (s *suite) addSegment2(t *testing.T, nodes []string) {
	t.Helper()
	ctx := context.Background()
	lan := s.l.Topo.Bridge
	hosts := []topo.Host{s.l.Client()}
	for _, n := range nodes {
		hosts = append(hosts, s.l.Node(n))
	}
	t.Cleanup(func() {
		for _, h := range hosts {
			_, _ = lan.IP(context.Background(), "link", "del", seg2Port(h))
		}
		_, _ = lan.IP(context.Background(), "link", "del", seg2Bridge)
	})
	lines := []string{
		fmt.Sprintf("link add %s type bridge stp_state 0 forward_delay 0", seg2Bridge),
		fmt.Sprintf("link set %s up", seg2Bridge),
	}
	for _, h := range hosts {
		lines = append(lines,
			fmt.Sprintf("link add %s type veth peer name %s address %s netns %s", seg2Port(h), seg2Iface, seg2MAC(h), h.NS),
			fmt.Sprintf("link set %s master %s up", seg2Port(h), seg2Bridge))
	}
	if err := lan.IPBatch(ctx, lines); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		err := h.NS.IPBatch(ctx, []string{
			fmt.Sprintf("addr add %s dev %s", seg2Addr(h), seg2Iface),
			fmt.Sprintf("link set %s up", seg2Iface),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// seg2Owner returns the node whose second-segment MAC the client's
// neighbour table holds for ip.
func (s *suite) seg2Owner(ctx context.Context, ip netip.Addr) (string, error) {
	ns, err := probe.Neighbors(ctx, s.l.Client().NS, seg2Iface)
	if err != nil {
		return "", err
	}
	n, ok := probe.NeighborOf(ns, ip)
	if !ok || !n.Resolved() {
		return "", fmt.Errorf("no resolved entry for %s on %s: %+v", ip, seg2Iface, n)
	}
	for _, name := range s.l.NodeNames() {
		if h := s.l.Node(name); seg2MAC(h).String() == n.MAC.String() {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s resolves to %s, no node's %s", ip, n.MAC, seg2Iface)
}

// waitSeg2Owner waits until the client resolves ip on the second segment
// to want and HTTP through ip reaches want.
func (s *suite) waitSeg2Owner(t *testing.T, ip netip.Addr, want string) {
	t.Helper()
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, httpTimeout)
		defer cancel()
		answered, err := s.l.HTTP(ctx, "client", ip)
		if err != nil {
			return false, err
		}
		who, err := s.seg2Owner(ctx, ip)
		seen.set("neighbour %q, HTTP answered by %q", who, answered)
		return who == want && answered == want, err
	}, "client resolves %s on %s to %s and HTTP reaches it (last: %s)", ip, seg2Iface, want, &seen)
}

// arping reports whether ip answers ARP on the client's interface dev
// (one request, waiting at most a second for the answer).
func arping(ctx context.Context, client netns.NS, dev string, ip netip.Addr) bool {
	_, err := client.Run(ctx, "arping", "-c", "1", "-w", "1", "-I", dev, ip.String())
	return err == nil
}

// testInterfaces: an advertisement limited to interface eth1, which only
// node2 and node3 have (on a second segment, added while the speakers
// run), is announced by one of them on eth1 only; when the owner's eth1
// goes away, the other takes over.
func testInterfaces(t *testing.T, s *suite) {
	nodes := s.live()
	if len(nodes) < 3 {
		t.Skipf("needs 3 nodes, have %v", nodes)
	}
	ctx := context.Background()
	withIface := nodes[1:]
	s.addSegment2(t, withIface)
	adv := `apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: seg2}
spec:
  ipAddressPools: [seg2]
  interfaces: [` + seg2Iface + `]
`
	if err := s.l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(adv)); err != nil {
		t.Fatal(err)
	}
	svc := s.create(t, svcSpec{name: "iface", pool: "seg2"})
	ip := svc.ips[0]
	owner := predict(t, svc.ips, withIface)
	s.waitSeg2Owner(t, ip, owner)
	s.waitAnnouncedEvent(t, svc, ip, owner)
	client := s.l.Client().NS
	if !arping(ctx, client, seg2Iface, ip) {
		t.Errorf("%s does not answer ARP on the client's %s", ip, seg2Iface)
	}
	if arping(ctx, client, "eth0", ip) {
		t.Errorf("%s answers ARP on the LAN although its advertisement names only %s", ip, seg2Iface)
	}
	if _, err := s.l.Topo.Bridge.IP(ctx, "link", "del", seg2Port(s.l.Node(owner))); err != nil {
		t.Fatal(err)
	}
	s.waitSeg2Owner(t, ip, predict(t, svc.ips, others(withIface, owner)))
}
