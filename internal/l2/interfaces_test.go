package l2

import (
	"errors"
	"net"
	"net/netip"
	"path"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func link(name string, index int, mac string, flags net.Flags, addrs ...string) Link {
	l := Link{Name: name, Index: index, MAC: mustMAC(mac), Flags: flags}
	for _, a := range addrs {
		l.Addrs = append(l.Addrs, netip.MustParsePrefix(a))
	}
	return l
}

func TestUsableInterfaces(t *testing.T) {
	const eth = net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	slave := link("eth3", 5, "02:00:00:00:00:03", eth)
	slave.HasMaster = true
	tentative := link("eth4", 6, "02:00:00:00:00:04", eth, "fe80::4/64")
	tentative.Tentative = []netip.Addr{netip.MustParseAddr("fe80::4")}
	links := []Link{
		link("lo", 1, "00:00:00:00:00:00", net.FlagUp|net.FlagRunning|net.FlagLoopback, "127.0.0.1/8"),
		link("eth0", 2, "02:00:00:00:00:00", eth, "10.0.0.2/24", "fe80::2/64", "fd00::2/64", "10.0.0.3/24", "10.9.8.7/16", "10.0.0.9/32", "fd00::5/128", "169.254.0.1/16"),
		link("eth1", 3, "02:00:00:00:00:01", eth&^net.FlagRunning, "10.0.1.2/24"), // no carrier
		link("eth2", 4, "02:00:00:00:00:02", eth&^net.FlagUp),                     // admin down
		slave,
		tentative,
		link("docker0", 7, "02:00:00:00:00:05", eth, "172.17.0.1/16"),
		link("vethabc", 8, "02:00:00:00:00:06", eth),
		link("bond0", 9, "02:00:00:00:00:07", eth&^net.FlagMulticast, "192.168.0.2/24"),
		link("wg0", 10, "02:00:00:00:00:08", net.FlagUp|net.FlagRunning|net.FlagPointToPoint),
		link("ib0", 11, "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01", eth),
	}
	want := []Interface{
		{Name: "bond0", Index: 9, MAC: mustMAC("02:00:00:00:00:07"), HasIPv4: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")}},
		{Name: "eth0", Index: 2, MAC: mustMAC("02:00:00:00:00:00"), HasIPv4: true, HasIPv6: true,
			LinkLocal: netip.MustParseAddr("fe80::2"), Multicast: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.9.0.0/16"), netip.MustParsePrefix("fd00::/64")}},
		{Name: "eth4", Index: 6, MAC: mustMAC("02:00:00:00:00:04"), HasIPv6: true, Multicast: true},
	}
	got := usableInterfaces(links, DefaultExcludes())
	prefixCmp := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if diff := cmp.Diff(want, got, addrCmp, prefixCmp); diff != "" {
		t.Errorf("usableInterfaces (-want +got):\n%s", diff)
	}
	if !sameInterfaces(got, usableInterfaces(links, DefaultExcludes())) {
		t.Error("sameInterfaces is false for equal lists")
	}
	if sameInterfaces(got, got[1:]) {
		t.Error("sameInterfaces is true for different lists")
	}
}

func TestExcluded(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"lo", true}, {"docker0", true}, {"br-1234abcd", true}, {"veth12ab", true}, {"cni0", true},
		{"cali123", true}, {"flannel.1", true}, {"cilium_host", true}, {"lxc123", true},
		{"kube-ipvs0", true}, {"kube-bridge", true}, {"vxlan.calico", true}, {"tunl0", true},
		{"eth0", false}, {"ens3", false}, {"enp1s0f0", false}, {"bond0", false}, {"br0", false},
		{"eth0.100", false}, {"vlan100", false}, {"loop", false},
	}
	for _, tt := range tests {
		if got := excluded(tt.name, DefaultExcludes()); got != tt.want {
			t.Errorf("excluded(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestValidatePatterns(t *testing.T) {
	if err := validatePatterns(DefaultExcludes()); err != nil {
		t.Errorf("default excludes invalid: %v", err)
	}
	err := validatePatterns([]string{"eth*", "bad["})
	if !errors.Is(err, path.ErrBadPattern) {
		t.Errorf("validatePatterns(bad[) = %v, want ErrBadPattern", err)
	}
}

func TestLocalMACs(t *testing.T) {
	links := []Link{
		link("lo", 1, "00:00:00:00:00:00", 0),
		link("eth0", 2, "02:00:00:00:00:00", 0),
		link("eth1", 3, "02:00:00:00:00:01", 0),
		{Name: "tun0", Index: 4},
	}
	got := localMACs(links)
	k0, _ := keyOf(mustMAC("02:00:00:00:00:00"))
	k1, _ := keyOf(mustMAC("02:00:00:00:00:01"))
	if diff := cmp.Diff(map[macKey]struct{}{k0: {}, k1: {}}, got); diff != "" {
		t.Errorf("localMACs (-want +got):\n%s", diff)
	}
}
