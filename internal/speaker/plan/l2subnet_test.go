package plan

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/election"
	"github.com/pylonlb/pylon/internal/model"
)

// subnetLab is a pool spanning the main segment (192.168.77.0/24,
// fd00:77::/64), a second one (192.168.88.0/24, fd00:88::/64) and
// addresses on no node's subnet (10.9.9.0/24, fd00:99::/120), announced
// on every interface, or on the named ones.
func subnetLab(t *testing.T, placement v1beta1.L2Placement, ifaces ...string) *model.Config {
	return mustConfig(t, model.Objects{
		Pools: []v1beta1.IPAddressPool{{ObjectMeta: meta("l2"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{
			"192.168.77.100-192.168.77.199", "192.168.88.100-192.168.88.199", "10.9.9.0/24",
			"fd00:77::100/120", "fd00:88::100/120", "fd00:99::/120"}}}},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{
			IPAddressPools: []string{"l2"}, Interfaces: ifaces, Placement: placement}}},
	})
}

// member returns a member publishing its addresses. Each spec is
// "name:item,item" where an item is a prefix, "v4" or "v6" (an address of
// the family on no listed subnet, e.g. a link-local one).
func member(name string, specs ...string) Member {
	m := Member{Name: name, AddrsKnown: true}
	for _, s := range specs {
		ifname, items, _ := strings.Cut(s, ":")
		i := InterfaceAddrs{Name: ifname}
		for _, it := range strings.Split(items, ",") {
			switch it {
			case "":
			case "v4":
				i.IPv4 = true
			case "v6":
				i.IPv6 = true
			default:
				p := netip.MustParsePrefix(it)
				i.Prefixes = append(i.Prefixes, p)
				i.IPv4, i.IPv6 = i.IPv4 || p.Addr().Is4(), i.IPv6 || p.Addr().Is6()
			}
		}
		m.Interfaces = append(m.Interfaces, ifname)
		m.Addrs = append(m.Addrs, i)
	}
	return m
}

// legacy returns a member of an earlier version: interface names only.
func legacy(name string, ifaces ...string) Member {
	return Member{Name: name, Interfaces: ifaces}
}

// twoSegments: n1..n3 on the main segment (n1 without IPv6), n4 on the
// second segment only.
func twoSegments() []Member {
	return []Member{
		member("n1", "eth0:192.168.77.0/24"),
		member("n2", "eth0:192.168.77.0/24,fd00:77::/64"),
		member("n3", "eth0:192.168.77.0/24,fd00:77::/64", "eth1:10.200.0.0/16"),
		member("n4", "eth0:192.168.88.0/24,fd00:88::/64"),
	}
}

func readySvc(k string, ips ...string) Service {
	s := svc(k, ips...)
	s.ReadyNodes = []string{"n1", "n2", "n3", "n4"}
	return s
}

func TestL2SubnetAwareElection(t *testing.T) {
	type want struct {
		among      []string // the owner is one of these
		interfaces []string
		offSubnet  bool
	}
	for _, tc := range []struct {
		name    string
		members []Member
		ifaces  []string // advertisement's interfaces
		ip      string
		want    want
	}{
		{"main segment: nodes on it, answered on that interface", twoSegments(), nil, "192.168.77.1%02d",
			want{among: []string{"n1", "n2", "n3"}, interfaces: []string{"eth0"}}},
		{"second segment: its only node", twoSegments(), nil, "192.168.88.1%02d",
			want{among: []string{"n4"}, interfaces: []string{"eth0"}}},
		{"IPv6 main segment: never the node without IPv6", twoSegments(), nil, "fd00:77::1%02d",
			want{among: []string{"n2", "n3"}, interfaces: []string{"eth0"}}},
		{"IPv6 second segment", twoSegments(), nil, "fd00:88::1%02d",
			want{among: []string{"n4"}, interfaces: []string{"eth0"}}},
		{"outside every subnet: every node of the family, off-subnet", twoSegments(), nil, "10.9.9.%d",
			want{among: []string{"n1", "n2", "n3", "n4"}, offSubnet: true}},
		{"IPv6 outside every subnet: nodes with IPv6 only", twoSegments(), nil, "fd00:99::%02d",
			want{among: []string{"n2", "n3", "n4"}, offSubnet: true}},
		{"IPv6 with only link-local IPv6 somewhere: that node", []Member{
			member("n1", "eth0:192.168.77.0/24"), member("n2", "eth0:192.168.77.0/24,v6")}, nil, "fd00:99::%02d",
			want{among: []string{"n2"}, offSubnet: true}},
		{"IPv6 and no node has IPv6: every node, as before", []Member{
			member("n1", "eth0:192.168.77.0/24"), member("n2", "eth0:192.168.77.0/24")}, nil, "fd00:77::1%02d",
			want{among: []string{"n1", "n2"}, offSubnet: true}},
		{"subnet on an interface the advertisement does not allow", []Member{
			member("n1", "eth0:192.168.77.0/24", "eth1:192.168.88.0/24"),
			member("n2", "eth0:192.168.88.0/24", "eth1:10.0.0.0/8")}, []string{"eth1"}, "192.168.88.1%02d",
			want{among: []string{"n1"}, interfaces: []string{"eth1"}}},
		{"two interfaces on the subnet: both answer", []Member{
			member("n1", "eth0:192.168.77.0/24", "eth1:192.168.77.64/26,192.168.77.128/26"), member("n2", "eth2:192.168.88.0/24")}, nil, "192.168.77.1%02d",
			want{among: []string{"n1"}, interfaces: []string{"eth0", "eth1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := subnetLab(t, "", tc.ifaces...)
			names := map[string]bool{}
			for _, m := range tc.members {
				names[m.Name] = true
			}
			seen := map[string]bool{}
			for n := range 40 {
				ip := fmt.Sprintf(tc.ip, n)
				p := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3", "n4"), Members: tc.members,
					Services: []Service{readySvc("a/web", ip)}})
				if len(p.Announcements) != 1 {
					t.Fatalf("%s: announcements %+v, skipped %+v", ip, p.Announcements, p.Skipped)
				}
				a := p.Announcements[0]
				seen[a.Node] = true
				if !contains(tc.want.among, a.Node) {
					t.Errorf("%s owned by %s, want one of %v", ip, a.Node, tc.want.among)
				}
				if diff := cmp.Diff(tc.want.interfaces, a.Interfaces); diff != "" {
					t.Errorf("%s: interfaces (-want +got):\n%s", ip, diff)
				}
				if a.OffSubnet != tc.want.offSubnet {
					t.Errorf("%s: OffSubnet = %t, want %t", ip, a.OffSubnet, tc.want.offSubnet)
				}
			}
			if len(seen) != len(tc.want.among) {
				t.Errorf("owners over 40 addresses: %v, want each of %v", seen, tc.want.among)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestL2SubnetAwareGroups(t *testing.T) {
	cfg := subnetLab(t, "")
	ms := []Member{
		member("n1", "eth0:192.168.77.0/24"),
		member("n2", "eth0:192.168.77.0/24,fd00:77::/64"),
		member("n3", "eth0:192.168.88.0/24,fd00:77::/64"),
		member("n4", "eth0:192.168.88.0/24,fd00:88::/64"),
	}
	for _, tc := range []struct {
		name      string
		ips       []string
		owner     string
		offSubnet map[string]bool
	}{
		{"dual-stack: the node on both subnets", []string{"192.168.77.100", "fd00:77::100"}, "n2", nil},
		{"dual-stack: the node on both subnets (2)", []string{"192.168.88.100", "fd00:88::100"}, "n4", nil},
		// No node is on both subnets: the group lands on a node with
		// both families (n2, n3, n4), off the subnet of one address at
		// least.
		{"dual-stack across segments", []string{"192.168.77.101", "fd00:88::101"}, "", map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3", "n4"), Members: ms,
				Services: []Service{readySvc("a/web", tc.ips...)}})
			if len(p.Announcements) != len(tc.ips) {
				t.Fatalf("announcements %+v, skipped %+v", p.Announcements, p.Skipped)
			}
			owner := p.Announcements[0].Node
			for _, a := range p.Announcements {
				if a.Node != owner {
					t.Errorf("group split: %+v", p.Announcements)
				}
			}
			if tc.owner != "" && owner != tc.owner {
				t.Errorf("owner %s, want %s", owner, tc.owner)
			}
			if tc.offSubnet == nil {
				for _, a := range p.Announcements {
					if a.OffSubnet {
						t.Errorf("%s marked off-subnet", a.IP)
					}
				}
				return
			}
			if owner == "n1" {
				t.Errorf("owner n1 has no IPv6")
			}
			if !p.Announcements[0].OffSubnet && !p.Announcements[1].OffSubnet {
				t.Errorf("owner %s: no address off-subnet: %+v", owner, p.Announcements)
			}
		})
	}
}

func TestL2SubnetAwareBalanced(t *testing.T) {
	cfg := subnetLab(t, v1beta1.L2PlacementBalanced)
	var svcs []Service
	for n := range 30 {
		svcs = append(svcs, readySvc(fmt.Sprintf("a/s%d", n), fmt.Sprintf("192.168.88.%d", 100+n)),
			readySvc(fmt.Sprintf("b/s%d", n), fmt.Sprintf("fd00:77::1%02d", n)))
	}
	p := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3", "n4"), Members: twoSegments(), Services: svcs})
	for _, a := range p.Announcements {
		if a.IP.Is4() && a.Node != "n4" || a.IP.Is6() && a.Node != "n2" && a.Node != "n3" {
			t.Errorf("%s placed on %s", a.IP, a.Node)
		}
	}
}

// During a rolling update, speakers of the earlier version (legacy: no
// addresses published) elect among every node, the others by subnet.
// Whatever the mix, exactly one node answers each address: a new speaker
// answers what its plan gives it, a legacy one what the plan of every
// speaker as legacy (the earlier rule) gives it.
func TestL2MixedVersionsOneAnswer(t *testing.T) {
	for _, cordoned := range [][]string{nil, {"n4"}, {"n1", "n2"}, {"n1", "n2", "n3"}} {
		t.Run(fmt.Sprint("cordoned ", cordoned), func(t *testing.T) { mixedVersionsOneAnswer(t, cordoned) })
	}
}

func mixedVersionsOneAnswer(t *testing.T, cordoned []string) {
	cfg := subnetLab(t, "")
	full := twoSegments()
	ns := nodes("n1", "n2", "n3", "n4")
	for _, n := range cordoned {
		node := ns[n]
		node.Cordoned = true
		ns[n] = node
	}
	for mask := range 1 << len(full) {
		ms := make([]Member, len(full))
		old := make([]Member, len(full))
		for k, m := range full {
			ms[k], old[k] = m, legacy(m.Name, m.Interfaces...)
			if mask&(1<<k) != 0 {
				ms[k] = old[k]
			}
		}
		var svcs []Service
		for n := range 25 {
			svcs = append(svcs, readySvc(fmt.Sprintf("a/v4-%d", n), fmt.Sprintf("192.168.77.1%02d", n)),
				readySvc(fmt.Sprintf("a/v6-%d", n), fmt.Sprintf("fd00:77::1%02d", n)),
				readySvc(fmt.Sprintf("a/seg2-%d", n), fmt.Sprintf("192.168.88.1%02d", n)),
				readySvc(fmt.Sprintf("a/off-%d", n), fmt.Sprintf("10.9.9.%d", n)))
		}
		in := L2Input{Config: cfg, Nodes: ns, Services: svcs}
		in.Members = ms
		newOwners := owners(L2(in))
		in.Members = old
		oldOwners := owners(L2(in))
		for ip, o := range newOwners {
			answering := 0
			for k := range ms {
				if mask&(1<<k) != 0 && oldOwners[ip] == ms[k].Name || mask&(1<<k) == 0 && o == ms[k].Name {
					answering++
				}
			}
			if answering != 1 {
				t.Errorf("legacy mask %04b: %s answered by %d nodes (new rule %s, old rule %s)", mask, ip, answering, o, oldOwners[ip])
			}
		}
	}
}

// The subnet rule only narrows the rendezvous candidates: with every node
// on the address's subnet the owner is the plain election winner.
func TestL2SubnetAwareKeepsWinnerOnOneSegment(t *testing.T) {
	cfg := subnetLab(t, "")
	ms := []Member{member("n1", "eth0:192.168.77.0/24"), member("n2", "eth0:192.168.77.0/24"), member("n3", "eth0:192.168.77.0/24")}
	for n := range 30 {
		ip := fmt.Sprintf("192.168.77.1%02d", n)
		p := L2(L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3"), Members: ms, Services: []Service{readySvc("a/web", ip)}})
		if want, _ := election.Winner(ip, []string{"n1", "n2", "n3"}); owners(p)[ip] != want {
			t.Errorf("%s: owner %s, want %s", ip, owners(p)[ip], want)
		}
	}
}
