package l2

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	in := map[netip.Addr][]string{
		netip.MustParseAddr("::ffff:10.0.0.1"): {"eth0"},
		netip.MustParseAddr("fd00::1%eth0"):    nil,
		{}:                                     {"eth0"},
		netip.IPv4Unspecified():                nil,
		netip.MustParseAddr("ff02::1"):         nil,
		netip.MustParseAddr("10.0.0.2"):        {"eth1", "eth2"},
	}
	want := map[netip.Addr][]string{
		netip.MustParseAddr("10.0.0.1"): {"eth0"},
		netip.MustParseAddr("fd00::1"):  nil,
		netip.MustParseAddr("10.0.0.2"): {"eth1", "eth2"},
	}
	got := normalize(in)
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("normalize (-want +got):\n%s", diff)
	}
	in[netip.MustParseAddr("10.0.0.2")][0] = "changed"
	if got[netip.MustParseAddr("10.0.0.2")][0] != "eth1" {
		t.Error("normalize aliases the caller's slices")
	}
}

func TestMakePlan(t *testing.T) {
	eth0 := Interface{Name: "eth0", HasIPv4: true, HasIPv6: true, Multicast: true}
	eth1 := Interface{Name: "eth1", HasIPv4: true, Multicast: true} // no IPv6
	eth2 := Interface{Name: "eth2", HasIPv6: true, Multicast: true} // no IPv4
	nomc := Interface{Name: "ptp0", HasIPv4: true, HasIPv6: true}   // no multicast
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6 := netip.MustParseAddr("fd00::1")
	tests := []struct {
		name   string
		want   map[netip.Addr][]string
		ifaces []Interface
		plan   plan
	}{
		{name: "nothing", want: nil, ifaces: []Interface{eth0}, plan: plan{"eth0": {}}},
		{name: "no interfaces", want: map[netip.Addr][]string{a4: nil}, ifaces: nil, plan: plan{}},
		{
			name:   "defaults by family",
			want:   map[netip.Addr][]string{a4: nil, a6: nil},
			ifaces: []Interface{eth0, eth1, eth2, nomc},
			plan:   plan{"eth0": {a4: {}, a6: {}}, "eth1": {a4: {}}, "eth2": {a6: {}}, "ptp0": {a4: {}}},
		},
		{
			name:   "named interfaces regardless of addresses",
			want:   map[netip.Addr][]string{a4: {"eth2"}, b4: {"eth0", "missing"}, a6: {"eth1", "ptp0"}},
			ifaces: []Interface{eth0, eth1, eth2, nomc},
			plan:   plan{"eth0": {b4: {}}, "eth1": {a6: {}}, "eth2": {a4: {}}, "ptp0": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.plan, makePlan(tt.want, tt.ifaces), addrCmp); diff != "" {
				t.Errorf("makePlan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffPlans(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::3")
	tests := []struct {
		name     string
		old, new plan
		want     map[string]change
	}{
		{name: "empty", old: plan{}, new: plan{}, want: map[string]change{}},
		{name: "same", old: plan{"eth0": {a: {}}}, new: plan{"eth0": {a: {}}}, want: map[string]change{}},
		{
			name: "add and remove",
			old:  plan{"eth0": {a: {}, b: {}}},
			new:  plan{"eth0": {b: {}, c: {}}},
			want: map[string]change{"eth0": {added: []netip.Addr{c}, removed: []netip.Addr{a}}},
		},
		{
			name: "interface appears and disappears",
			old:  plan{"eth0": {a: {}}},
			new:  plan{"eth1": {a: {}, b: {}}},
			want: map[string]change{
				"eth0": {removed: []netip.Addr{a}},
				"eth1": {added: []netip.Addr{a, b}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffPlans(tt.old, tt.new)
			if diff := cmp.Diff(tt.want, got, addrCmp, cmp.AllowUnexported(change{})); diff != "" {
				t.Errorf("diffPlans (-want +got):\n%s", diff)
			}
		})
	}
}
