package speaker

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

func TestNewlyAnnounced(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.168.77.128"), netip.MustParseAddr("fd00:77::100")
	ann := func(ip netip.Addr, svcs ...string) plan.L2Announcement {
		a := plan.L2Announcement{IP: ip, Node: "n1"}
		for _, s := range svcs {
			a.Services = append(a.Services, testKey(s))
		}
		return a
	}
	for _, tc := range []struct {
		name       string
		old, owned map[netip.Addr]plan.L2Announcement
		want       map[types.NamespacedName][]netip.Addr
	}{
		{name: "nothing", want: map[types.NamespacedName][]netip.Addr{}},
		{
			name:  "takeover of a dual-stack Service: one entry with both addresses",
			owned: map[netip.Addr]plan.L2Announcement{v6: ann(v6, "ns/dual"), v4: ann(v4, "ns/dual")},
			want:  map[types.NamespacedName][]netip.Addr{testKey("ns/dual"): {v4, v6}},
		},
		{
			name:  "unchanged",
			old:   map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a")},
			owned: map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a")},
			want:  map[types.NamespacedName][]netip.Addr{},
		},
		{
			name:  "a second Service shares an owned address",
			old:   map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a")},
			owned: map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a", "ns/b")},
			want:  map[types.NamespacedName][]netip.Addr{testKey("ns/b"): {v4}},
		},
		{
			name:  "an owned address passes to a new Service",
			old:   map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/old")},
			owned: map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/new")},
			want:  map[types.NamespacedName][]netip.Addr{testKey("ns/new"): {v4}},
		},
		{
			name:  "given up addresses are not reported",
			old:   map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a"), v6: ann(v6, "ns/a")},
			owned: map[netip.Addr]plan.L2Announcement{v4: ann(v4, "ns/a")},
			want:  map[types.NamespacedName][]netip.Addr{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newlyAnnounced(tc.old, tc.owned)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("newlyAnnounced (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInterfacesText(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.168.77.128"), netip.MustParseAddr("fd00:77::100")
	for _, tc := range []struct {
		name  string
		owned map[netip.Addr]plan.L2Announcement
		want  string
	}{
		{"all", map[netip.Addr]plan.L2Announcement{v4: {}, v6: {Interfaces: []string{"eth1"}}}, "all usable interfaces"},
		{"union", map[netip.Addr]plan.L2Announcement{v4: {Interfaces: []string{"eth1"}}, v6: {Interfaces: []string{"eth0", "eth1"}}}, "eth0,eth1"},
	} {
		if got := interfacesText(tc.owned, []netip.Addr{v4, v6}); got != tc.want {
			t.Errorf("%s: interfacesText = %q, want %q", tc.name, got, tc.want)
		}
	}
}
