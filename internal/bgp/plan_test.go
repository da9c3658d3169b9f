package bgp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func np(name string, mod func(*PeerConfig)) PeerConfig {
	p := okPeer()
	p.Name = name
	if mod != nil {
		mod(&p)
	}
	n, err := normalizePeer(p, rid)
	if err != nil {
		panic(err)
	}
	return n
}

func TestPeerDiff(t *testing.T) {
	a, b, c := np("a", nil), np("b", nil), np("c", nil)
	bHold := np("b", func(p *PeerConfig) { p.HoldTime = 9 * time.Second })
	aBFD := np("a", func(p *PeerConfig) { p.BFD = &BFDConfig{} })
	aBFD2 := np("a", func(p *PeerConfig) { p.BFD = &BFDConfig{} })
	aBFDFast := np("a", func(p *PeerConfig) { p.BFD = &BFDConfig{ReceiveInterval: 50 * time.Millisecond} })
	m := func(ps ...PeerConfig) map[string]PeerConfig {
		out := map[string]PeerConfig{}
		for _, p := range ps {
			out[p.Name] = p
		}
		return out
	}
	tests := []struct {
		name        string
		cur, want   map[string]PeerConfig
		remove, add []string
	}{
		{name: "empty", cur: m(), want: m()},
		{name: "add all", cur: m(), want: m(a, b), add: []string{"a", "b"}},
		{name: "remove all", cur: m(a, b), want: m(), remove: []string{"a", "b"}},
		{name: "unchanged", cur: m(a, b), want: m(b, a)},
		{name: "one changed", cur: m(a, b, c), want: m(a, bHold, c), remove: []string{"b"}, add: []string{"b"}},
		{name: "bfd by value", cur: m(aBFD), want: m(aBFD2)},
		{name: "bfd changed", cur: m(aBFD), want: m(aBFDFast), remove: []string{"a"}, add: []string{"a"}},
		{name: "bfd removed", cur: m(aBFD), want: m(a), remove: []string{"a"}, add: []string{"a"}},
		{name: "mixed", cur: m(a, b), want: m(bHold, c), remove: []string{"a", "b"}, add: []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remove, add := peerDiff(tt.cur, tt.want)
			if diff := cmp.Diff(tt.remove, remove, cmpNet); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.add, add, cmpNet); diff != "" {
				t.Errorf("add (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDenyChange(t *testing.T) {
	pfx := netip.MustParsePrefix("192.0.2.1/32")
	path := func(peers ...string) *Path { return &Path{Prefix: pfx, Peers: peers} }
	names := []string{"a", "b", "c"}
	tests := []struct {
		name        string
		old, new    *Path
		deny, allow []string
	}{
		{name: "new to all", old: nil, new: path()},
		{name: "new to a", old: nil, new: path("a"), deny: []string{"b", "c"}},
		{name: "a to b", old: path("a"), new: path("b"), deny: []string{"a"}, allow: []string{"b"}},
		{name: "a to all", old: path("a"), new: path(), allow: []string{"b", "c"}},
		{name: "all to c", old: path(), new: path("c"), deny: []string{"a", "b"}},
		{name: "same", old: path("a", "b"), new: path("a", "b")},
		{name: "unknown peer", old: nil, new: path("zz"), deny: []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deny, allow := denyChange(tt.old, *tt.new, names)
			if diff := cmp.Diff(tt.deny, deny, cmpNet); diff != "" {
				t.Errorf("deny (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.allow, allow, cmpNet); diff != "" {
				t.Errorf("allow (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnnouncedToAndCounts(t *testing.T) {
	v4 := np("v4", nil)
	v6 := np("v6", func(p *PeerConfig) { p.Address = addr6 })
	dual := np("dual", func(p *PeerConfig) { p.Address = netip.MustParseAddr("10.0.0.3"); p.IPv6NextHop = addr6 })
	p4 := Path{Prefix: netip.MustParsePrefix("192.0.2.1/32")}
	p6 := Path{Prefix: netip.MustParsePrefix("2001:db8::1/128")}
	p4only := Path{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Peers: []string{"v6", "v4"}}
	paths := map[netip.Prefix]Path{p4.Prefix: p4, p6.Prefix: p6, p4only.Prefix: p4only}
	peers := map[string]PeerConfig{"v4": v4, "v6": v6, "dual": dual}
	want := map[string]int{"v4": 2, "v6": 1, "dual": 2}
	if diff := cmp.Diff(want, sentCounts(peers, paths), cmpNet); diff != "" {
		t.Errorf("sentCounts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Prefix{p4only.Prefix}, denyList(paths, "dual"), cmpNet); diff != "" {
		t.Errorf("denyList(dual) (-want +got):\n%s", diff)
	}
	if len(denyList(paths, "v4")) != 0 {
		t.Error("denyList(v4) not empty")
	}
}

func TestBuildView(t *testing.T) {
	a := np("a", func(p *PeerConfig) { p.BFD = &BFDConfig{} })
	b := np("b", func(p *PeerConfig) { p.Address = addr6; p.PeerASN, p.DynamicASN = 0, DynamicASNExternal })
	since := time.Unix(1700000000, 0)
	c := np("c", func(p *PeerConfig) { p.Address, p.Interface = netip.Addr{}, "p2p0" })
	d := np("d", func(p *PeerConfig) { p.Address, p.Interface = netip.Addr{}, "p2p1" })
	ll := netip.MustParseAddr("fe80::1%p2p0")
	got := buildView(map[string]PeerConfig{"a": a, "b": b, "c": c, "d": d},
		map[string]peerStatus{"a": {state: StateEstablished, peerASN: 64513, establishedAt: since}, "b": {state: StateActive, lastError: "boom"},
			"c": {state: StateEstablished}, "d": {state: StateIdle, lastError: "no router"}},
		map[string]netip.Addr{"c": ll}, map[string]BFDState{}, map[string]int{"a": 3, "b": 5, "c": 2})
	want := []SessionState{
		{Name: "a", Address: addr4, State: StateEstablished, BFD: BFDDown, PeerASN: 64513, PrefixesSent: 3, EstablishedAt: since},
		{Name: "b", Address: addr6, State: StateActive, LastError: "boom"},
		{Name: "c", Address: ll, Interface: "p2p0", State: StateEstablished, PeerASN: 64513, PrefixesSent: 2},
		{Name: "d", Interface: "p2p1", State: StateIdle, PeerASN: 64513, LastError: "no router"},
	}
	if diff := cmp.Diff(want, got, cmpNet); diff != "" {
		t.Errorf("buildView (-want +got):\n%s", diff)
	}
}

func TestStrings(t *testing.T) {
	for want, s := range map[string]interface{ String() string }{
		"Idle": StateIdle, "Established": StateEstablished, "Unknown": StateUnknown, "OpenConfirm": StateOpenConfirm,
		"Up": BFDUp, "Disabled": BFDDisabled, "external": DynamicASNExternal, "none": DynamicASNNone,
	} {
		if got := s.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
