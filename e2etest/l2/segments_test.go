//go:build e2e

package l2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/internal/speaker"
)

// segmentsConfig: pool "main" on the LAN, "seg2" on the second segment,
// "offnet" on no node's subnet, all announced from every node.
const segmentsConfig = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: main}
spec:
  addresses: [192.168.77.128/27, "fd00:77::100/121"]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: seg2}
spec:
  addresses: [192.168.81.128/27]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: offnet}
spec:
  addresses: [10.99.0.0/28]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: all}
spec:
  ipAddressPools: [main, seg2, offnet]
`

var serviceL2StatusGVR = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "servicel2statuses"}

// TestL2Segments: node1 and node2 are on the LAN, node3 on a second
// segment only (topo.Spec.Segment2), each segment with its client. An
// address is elected among the nodes on its subnet and answered there; an
// address on no node's subnet falls back to any node, with an event and
// its ServiceL2Status saying so.
func TestL2Segments(t *testing.T) {
	opts := lab.Options{Nodes: 3, Segment2: true}
	labtest.RequirePylon(t, opts)
	l := labtest.Start(t, opts)
	ctx := context.Background()
	if err := l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(segmentsConfig)); err != nil {
		t.Fatal(err)
	}
	if err := l.StartPylon(ctx, lab.PylonOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &suite{l: l}
	s.waitMembers(t, l.NodeNames())
	t.Run("SecondSegmentAddress", func(t *testing.T) { testSeg2Address(t, s) })
	t.Run("MainSegmentNeverOnSecond", func(t *testing.T) { testMainNeverOnSeg2(t, s) })
	t.Run("OffSubnetFallsBack", func(t *testing.T) { testOffSubnet(t, s) })
}

// testSeg2Address: an address of the second segment's subnet is answered
// by node3, the only node there, on its eth0; the segment's client
// reaches it, and nobody answers for it on the LAN.
func testSeg2Address(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "seg2", pool: "seg2"})
	s.waitSegmentOwner(t, topo.Seg2ClientName, svc.ips[0], "node3")
	s.waitL2Status(t, svc, "node3", nil)
	// Nobody answers for it on the LAN (node1 and node2 are not elected,
	// node3 is not there).
	if arping(context.Background(), s.l.Client().NS, "eth0", svc.ips[0]) {
		t.Errorf("%s answers ARP on the LAN", svc.ips[0])
	}
}

// testMainNeverOnSeg2: addresses of the LAN (IPv4 and IPv6) whose owner
// among all three nodes would be node3 go to node1 or node2, as elected
// among them, and the LAN's client reaches them.
func testMainNeverOnSeg2(t *testing.T, s *suite) {
	all, lan := s.l.NodeNames(), []string{"node1", "node2"}
	for _, p := range []netip.Prefix{netip.MustParsePrefix("192.168.77.128/27"), netip.MustParsePrefix("fd00:77::100/121")} {
		ip := firstOwnedBy(t, p, all, "node3")
		svc := s.create(t, svcSpec{name: fmt.Sprintf("main-v%d", map[bool]int{true: 4, false: 6}[ip.Is4()]), pool: "main",
			families: families(ip), ips: []string{ip.String()}})
		want := predict(t, svc.ips, lan)
		s.waitOwner(t, svc, want)
		s.waitL2Status(t, svc, want, nil)
	}
}

// testOffSubnet: an address on no node's subnet goes to the node the
// election gives among all (as before subnets counted), which answers on
// every interface; a client with an on-link route for it (as behind proxy
// ARP) reaches it; a Warning event and the ServiceL2Status say so.
func testOffSubnet(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.create(t, svcSpec{name: "offnet", pool: "offnet"})
	ip := svc.ips[0]
	owner := predict(t, svc.ips, s.l.NodeNames())
	client := "client"
	if owner == "node3" {
		client = topo.Seg2ClientName
	}
	route := netip.PrefixFrom(ip, 32).String()
	if _, err := s.l.Topo.MustHost(client).NS.IP(ctx, "route", "replace", route, "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = s.l.Topo.MustHost(client).NS.IP(context.Background(), "route", "del", route) })
	s.waitSegmentOwner(t, client, ip, owner)
	s.waitL2Status(t, svc, owner, []string{ip.String()})
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		evs, err := s.l.Admin.Kube.EventsV1().Events(svc.nn.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var notes []string
		for _, e := range evs.Items {
			if e.Regarding.Name == svc.nn.Name && e.Reason == speaker.ReasonL2OffSubnet {
				notes = append(notes, e.Note)
			}
		}
		seen.set("%q", notes)
		return len(notes) == 1, nil
	}, "%s: one %s event (events: %s)", svc.nn, speaker.ReasonL2OffSubnet, &seen)
	t.Logf("%s: %s", svc.nn, &seen)
}

// firstOwnedBy returns the first address of p that the election gives to
// node among candidates.
func firstOwnedBy(t *testing.T, p netip.Prefix, candidates []string, node string) netip.Addr {
	t.Helper()
	for a := p.Addr().Next(); p.Contains(a); a = a.Next() {
		if w, _ := Owner([]netip.Addr{a}, candidates); w == node {
			return a
		}
	}
	t.Fatalf("no address of %s goes to %s among %v", p, node, candidates)
	return netip.Addr{}
}

// waitSegmentOwner waits until client (on the owner's segment) resolves
// ip to want's MAC and an HTTP request through ip reaches want.
func (s *suite) waitSegmentOwner(t *testing.T, client string, ip netip.Addr, want string) {
	t.Helper()
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, httpTimeout)
		defer cancel()
		answered, err := s.l.HTTP(ctx, client, ip)
		if err != nil {
			return false, err
		}
		ns, err := probe.Neighbors(ctx, s.l.Topo.MustHost(client).NS, "eth0")
		if err != nil {
			return false, err
		}
		who := ""
		if n, ok := probe.NeighborOf(ns, ip); ok && n.Resolved() {
			if h, ok := s.l.Topo.HostByMAC(n.MAC); ok {
				who = h.Name
			}
		}
		seen.set("neighbour %q, HTTP answered by %q", who, answered)
		return who == want && answered == want, nil
	}, "%s resolves %s to %s and HTTP reaches it (last: %s)", client, ip, want, &seen)
}

// waitL2Status waits until the Service's ServiceL2Status names node, with
// the given off-subnet addresses.
func (s *suite) waitL2Status(t *testing.T, svc service, node string, offSubnet []string) {
	t.Helper()
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		u, err := s.l.Admin.Dynamic.Resource(serviceL2StatusGVR).Namespace(svc.nn.Namespace).Get(ctx, svc.nn.Name, metav1.GetOptions{})
		if err != nil {
			seen.set("%v", err)
			return false, nil
		}
		got, _, _ := unstructured.NestedString(u.Object, "status", "node")
		off, _, _ := unstructured.NestedStringSlice(u.Object, "status", "offSubnetIPs")
		seen.set("node %q, offSubnetIPs %q", got, off)
		return got == node && slices.Equal(off, offSubnet), nil
	}, "%s: ServiceL2Status names %s with offSubnetIPs %q (last: %s)", svc.nn, node, offSubnet, &seen)
}

// families returns the single family of ip.
func families(ip netip.Addr) []corev1.IPFamily {
	if ip.Is4() {
		return []corev1.IPFamily{corev1.IPv4Protocol}
	}
	return []corev1.IPFamily{corev1.IPv6Protocol}
}
