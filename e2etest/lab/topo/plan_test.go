package topo

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

func TestPlanHosts(t *testing.T) {
	topo, err := Plan(Spec{Prefix: "p-", Nodes: 2, Router2: true})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, NS, MAC, V4, V6, GW4, GW6 string
		Role                            Role
	}
	var got []row
	for _, h := range topo.Hosts {
		got = append(got, row{h.Name, string(h.NS), h.MAC().String(), h.Ifaces[0].V4.String(),
			h.Ifaces[0].V6.String(), addrString(h.GatewayV4), addrString(h.GatewayV6), h.Role})
	}
	want := []row{
		{"node1", "p-node1", "02:77:00:00:00:0b", "192.168.77.11/24", "fd00:77::11/64", "192.168.77.254", "fd00:77::254", RoleNode},
		{"node2", "p-node2", "02:77:00:00:00:0c", "192.168.77.12/24", "fd00:77::12/64", "192.168.77.254", "fd00:77::254", RoleNode},
		{"client", "p-client", "02:77:00:00:00:02", "192.168.77.2/24", "fd00:77::2/64", "192.168.77.254", "fd00:77::254", RoleClient},
		{"ctl", "p-ctl", "02:77:00:00:00:fa", "192.168.77.250/24", "fd00:77::250/64", "192.168.77.254", "fd00:77::254", RoleControl},
		{"router", "p-router", "02:77:00:00:00:fe", "192.168.77.254/24", "fd00:77::254/64", "", "", RoleRouter},
		{"outside", "p-outside", "02:77:01:00:00:02", "192.168.78.2/24", "fd00:78::2/64", "192.168.78.1", "fd00:78::1", RoleOutside},
		{"router2", "p-router2", "02:77:02:00:00:02", "192.168.79.2/24", "fd00:79::2/64", "192.168.79.1", "fd00:79::1", RoleRouter2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if topo.Bridge != "p-lan" {
		t.Errorf("bridge namespace %q, want p-lan", topo.Bridge)
	}
}

// TestPlanUnnumbered: Spec.Unnumbered adds a link-local-only link from
// each node to the router; the default topology has none.
func TestPlanUnnumbered(t *testing.T) {
	plain, _ := Plan(Spec{Prefix: "p-", Nodes: 2})
	tp, err := Plan(Spec{Prefix: "p-", Nodes: 2, Unnumbered: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Links) != len(plain.Links)+2 {
		t.Fatalf("links %+v, want two more than %+v", tp.Links, plain.Links)
	}
	type end struct{ Host, Iface, MAC, LinkLocal string }
	var got []end
	for _, l := range tp.Links[len(plain.Links):] {
		for _, side := range [][2]string{{l.A, l.AIface}, {l.B, l.BIface}} {
			i, ok := tp.MustHost(side[0]).Iface(side[1])
			if !ok || i.V4.IsValid() || i.V6.IsValid() {
				t.Errorf("%s %s: %+v, want an interface without addresses", side[0], side[1], i)
			}
			got = append(got, end{side[0], side[1], i.MAC.String(), i.LinkLocal().String()})
		}
	}
	want := []end{
		{"node1", "p2p0", "02:77:03:00:00:0b", "fe80::77:3ff:fe00:b"},
		{"router", "p2p-node1", "02:77:03:00:00:8b", "fe80::77:3ff:fe00:8b"},
		{"node2", "p2p0", "02:77:03:00:00:0c", "fe80::77:3ff:fe00:c"},
		{"router", "p2p-node2", "02:77:03:00:00:8c", "fe80::77:3ff:fe00:8c"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unnumbered links (-want +got):\n%s", diff)
	}
	for _, h := range plain.Hosts {
		for _, i := range h.Ifaces {
			if strings.HasPrefix(i.Name, "p2p") {
				t.Errorf("default topology has %s on %s", i.Name, h.Name)
			}
		}
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func TestPlanRejects(t *testing.T) {
	for _, spec := range []Spec{
		{Prefix: "p-", Nodes: 0},
		{Prefix: "p-", Nodes: MaxNodes + 1},
		{Prefix: "", Nodes: 1},
		{Prefix: "p-", Nodes: 1, RootLink: &RootLink{Name: "a-name-longer-than-15"}},
	} {
		if _, err := Plan(spec); !errors.Is(err, ErrBadSpec) {
			t.Errorf("Plan(%+v) = %v, want ErrBadSpec", spec, err)
		}
	}
}

func TestLookups(t *testing.T) {
	topo, _ := Plan(Spec{Prefix: "p-", Nodes: 3})
	mac, _ := net.ParseMAC("02:77:00:00:00:0d")
	if h, ok := topo.HostByMAC(mac); !ok || h.Name != "node3" {
		t.Errorf("HostByMAC(%s) = %q, %v; want node3", mac, h.Name, ok)
	}
	if h, ok := topo.HostByAddr(netip.MustParseAddr("fd00:77::12")); !ok || h.Name != "node2" {
		t.Errorf("HostByAddr(fd00:77::12) = %q, %v; want node2", h.Name, ok)
	}
	if h, ok := topo.HostByAddr(netip.MustParseAddr("fe80::77:ff:fe00:b")); !ok || h.Name != "node1" {
		t.Errorf("HostByAddr(fe80::77:ff:fe00:b) = %q, %v; want node1", h.Name, ok)
	}
	if got := len(topo.Nodes()); got != 3 {
		t.Errorf("Nodes() has %d hosts, want 3", got)
	}
	if _, ok := topo.Host("router2"); ok {
		t.Error("router2 exists without Spec.Router2")
	}
}

func TestScript(t *testing.T) {
	rl := &RootLink{Name: "plab0001",
		RootV4: netip.MustParsePrefix("169.254.0.2/31"), CtlV4: netip.MustParsePrefix("169.254.0.3/31"),
		RootV6: netip.MustParsePrefix("fd00:77:ff:1::1/64"), CtlV6: netip.MustParsePrefix("fd00:77:ff:1::2/64")}
	topo, _ := Plan(Spec{Prefix: "p-", Nodes: 1, RootLink: rl})
	s := topo.Script()
	got := map[netns.NS][]string{}
	for _, b := range s.Batches {
		got[b.NS] = b.Lines
	}
	want := map[netns.NS][]string{
		"p-lan": {
			"link set lo up",
			"link add br0 type bridge stp_state 0 forward_delay 0",
			"link set br0 up",
			"link add v-node1 type veth peer name eth0 address 02:77:00:00:00:0b netns p-node1",
			"link set v-node1 master br0 up",
			"link add v-client type veth peer name eth0 address 02:77:00:00:00:02 netns p-client",
			"link set v-client master br0 up",
			"link add v-ctl type veth peer name eth0 address 02:77:00:00:00:fa netns p-ctl",
			"link set v-ctl master br0 up",
			"link add v-router type veth peer name eth0 address 02:77:00:00:00:fe netns p-router",
			"link set v-router master br0 up",
		},
		netns.Root: {
			"link add plab0001 type veth peer name eth1 netns p-ctl",
			"addr add 169.254.0.2/31 dev plab0001",
			"addr add fd00:77:ff:1::1/64 dev plab0001 nodad",
			"link set plab0001 up",
		},
		"p-node1": {
			"link set lo up",
			"addr add 192.168.77.11/24 dev eth0", "addr add fd00:77::11/64 dev eth0 nodad", "link set eth0 up",
			"route add default via 192.168.77.254", "route add default via fd00:77::254",
		},
		"p-client": {
			"link set lo up",
			"addr add 192.168.77.2/24 dev eth0", "addr add fd00:77::2/64 dev eth0 nodad", "link set eth0 up",
			"route add default via 192.168.77.254", "route add default via fd00:77::254",
		},
		"p-ctl": {
			"link set lo up",
			"addr add 192.168.77.250/24 dev eth0", "addr add fd00:77::250/64 dev eth0 nodad", "link set eth0 up",
			"addr add 169.254.0.3/31 dev eth1", "addr add fd00:77:ff:1::2/64 dev eth1 nodad", "link set eth1 up",
			"route add default via 192.168.77.254", "route add default via fd00:77::254",
		},
		"p-router": {
			"link set lo up",
			"link add eth1 address 02:77:01:00:00:01 type veth peer name eth0 address 02:77:01:00:00:02 netns p-outside",
			"addr add 192.168.77.254/24 dev eth0", "addr add fd00:77::254/64 dev eth0 nodad", "link set eth0 up",
			"addr add 192.168.78.1/24 dev eth1", "addr add fd00:78::1/64 dev eth1 nodad", "link set eth1 up",
		},
		"p-outside": {
			"link set lo up",
			"addr add 192.168.78.2/24 dev eth0", "addr add fd00:78::2/64 dev eth0 nodad", "link set eth0 up",
			"route add default via 192.168.78.1", "route add default via fd00:78::1",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	// Order matters: the bridge and root links exist before hosts address them,
	// and the router creates outside's interface before outside configures it.
	var order []netns.NS
	for _, b := range s.Batches {
		order = append(order, b.NS)
	}
	wantOrder := []netns.NS{"p-lan", netns.Root, "p-node1", "p-client", "p-ctl", "p-router", "p-outside"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("batch order (-want +got):\n%s", diff)
	}
}

func TestPartitionRoutes(t *testing.T) {
	topo, _ := Plan(Spec{Prefix: "p-", Nodes: 3})
	got, err := topo.PartitionRoutes([][]string{{"node1"}, {"node2", "node3"}})
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix
	want := map[string][]netip.Prefix{
		"node1": {p("192.168.77.12/32"), p("fd00:77::12/128"), p("192.168.77.13/32"), p("fd00:77::13/128")},
		"node2": {p("192.168.77.11/32"), p("fd00:77::11/128")},
		"node3": {p("192.168.77.11/32"), p("fd00:77::11/128")},
	}
	sortPrefixes := cmp.Transformer("sort", func(in []netip.Prefix) map[netip.Prefix]bool {
		m := map[netip.Prefix]bool{}
		for _, x := range in {
			m[x] = true
		}
		return m
	})
	if diff := cmp.Diff(want, got, sortPrefixes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	for _, bad := range [][][]string{{{"node1"}, {"node1"}}, {{"node9"}}, {{"outside"}}} {
		if _, err := topo.PartitionRoutes(bad); err == nil {
			t.Errorf("PartitionRoutes(%v) succeeded, want error", bad)
		}
	}
}

// TestPlanSegment2: the last node moves to the second segment (only),
// with the segment's client and the router's interface; the containerlab
// rendering has a second switch and reads back as the same spec.
func TestPlanSegment2(t *testing.T) {
	if _, err := Plan(Spec{Prefix: "p-", Nodes: 1, Segment2: true}); !errors.Is(err, ErrBadSpec) {
		t.Errorf("one node with a second segment: error %v, want ErrBadSpec", err)
	}
	tp, err := Plan(Spec{Prefix: "p-", Nodes: 3, Segment2: true})
	if err != nil {
		t.Fatal(err)
	}
	n3, n1 := tp.MustHost("node3"), tp.MustHost("node1")
	if len(n3.Ifaces) != 1 || n3.IPv4() != netip.MustParseAddr("192.168.81.13") || n3.IPv6() != netip.MustParseAddr("fd00:81::13") ||
		n3.Ifaces[0].Bridge != Bridge2Name || n3.GatewayV4 != netip.MustParseAddr("192.168.81.254") {
		t.Errorf("node3 = %+v, want only eth0 on the second segment", n3)
	}
	if n1.IPv4() != netip.MustParseAddr("192.168.77.11") || n1.Ifaces[0].Bridge != "" {
		t.Errorf("node1 = %+v, want it on the LAN", n1)
	}
	c2 := tp.MustHost(Seg2ClientName)
	if c2.Role != RoleClient || c2.IPv4() != netip.MustParseAddr("192.168.81.2") {
		t.Errorf("client2 = %+v", c2)
	}
	if i, ok := tp.MustHost("router").Iface(RouterSeg2Iface); !ok || i.V4.Addr() != netip.MustParseAddr("192.168.81.254") || i.Bridge != Bridge2Name {
		t.Errorf("router's %s = %+v, %v", RouterSeg2Iface, i, ok)
	}
	spec, err := SpecFromClab(tp.Containerlab("seg2"), "p-", nil)
	if err != nil || !spec.Segment2 || spec.Nodes != 3 {
		t.Errorf("read back as %+v, %v", spec, err)
	}
}
