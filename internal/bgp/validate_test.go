package bgp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cmpNet lets cmp compare net/netip values.
var cmpNet = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

var (
	rid   = netip.MustParseAddr("192.0.2.1")
	addr4 = netip.MustParseAddr("10.0.0.2")
	addr6 = netip.MustParseAddr("fd00::2")
)

func okPeer() PeerConfig {
	return PeerConfig{Name: "p", MyASN: 64512, PeerASN: 64513, Address: addr4}
}

func TestPeerValidate(t *testing.T) {
	tests := []struct {
		name        string
		mod         func(*PeerConfig)
		wantErr     string // substring; "" means valid
		unsupported bool
	}{
		{name: "minimal", mod: func(*PeerConfig) {}},
		{name: "no name", mod: func(p *PeerConfig) { p.Name = "" }, wantErr: "empty name"},
		{name: "dynamic external", mod: func(p *PeerConfig) { p.PeerASN, p.DynamicASN = 0, DynamicASNExternal }},
		{name: "no address", mod: func(p *PeerConfig) { p.Address = netip.Addr{} }, wantErr: "no address"},
		{name: "v6 next hop on v4", mod: func(p *PeerConfig) { p.IPv6NextHop = addr6 }},
		{name: "v4 next hop on v6", mod: func(p *PeerConfig) { p.Address, p.IPv4NextHop = addr6, addr4 }},
		{name: "bfd", mod: func(p *PeerConfig) { p.BFD = &BFDConfig{ReceiveInterval: 100 * time.Millisecond} }},
		{name: "bfd passive", mod: func(p *PeerConfig) { p.BFD = &BFDConfig{PassiveMode: true} }, wantErr: "passive", unsupported: true},
		{name: "bfd multihop", mod: func(p *PeerConfig) { p.BFD, p.EBGPMultiHop = &BFDConfig{}, true }, wantErr: "multi-hop", unsupported: true},
		{name: "unnumbered", mod: func(p *PeerConfig) { p.Address, p.Interface = netip.Addr{}, "p2p0" }},
		{name: "address and interface", mod: func(p *PeerConfig) { p.Interface = "p2p0" }, wantErr: "mutually exclusive"},
		{name: "unnumbered source", mod: func(p *PeerConfig) {
			p.Address, p.Interface, p.SourceAddress = netip.Addr{}, "p2p0", addr4
		}, wantErr: "source address 10.0.0.2 on an unnumbered session"},
		{name: "unnumbered multi-hop", mod: func(p *PeerConfig) { p.Address, p.Interface, p.EBGPMultiHop = netip.Addr{}, "p2p0", true }, wantErr: "multi-hop"},
		{name: "unnumbered next hop", mod: func(p *PeerConfig) { p.Address, p.Interface, p.IPv4NextHop = netip.Addr{}, "p2p0", addr4 }, wantErr: "next hops"},
		{name: "unnumbered bfd", mod: func(p *PeerConfig) { p.Address, p.Interface, p.BFD = netip.Addr{}, "p2p0", &BFDConfig{} },
			wantErr: "bfd on an unnumbered session", unsupported: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := okPeer()
			tt.mod(&p)
			err := p.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestBFDSupports(t *testing.T) {
	tests := []struct {
		name        string
		c           BFDConfig
		want        []string
		unsupported bool
	}{
		{name: "defaults", c: BFDConfig{}},
		{name: "fast", c: BFDConfig{ReceiveInterval: 10 * time.Millisecond, TransmitInterval: 50 * time.Millisecond, DetectMultiplier: 2}},
		{name: "everything unsupported", c: BFDConfig{PassiveMode: true, MinimumTTL: 254, EchoMode: true, EchoInterval: 50 * time.Millisecond},
			want: []string{"passive", "minimum TTL 254", "echo"}, unsupported: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := BFDSupports(tt.c)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("BFDSupports() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("BFDSupports() = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("BFDSupports() = %v, want it to mention %q", err, w)
				}
			}
			if errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Errorf("unsupported = %v, want %v", errors.Is(err, ErrUnsupported), tt.unsupported)
			}
		})
	}
}

func TestNormalizePeer(t *testing.T) {
	in := okPeer()
	in.PeerASN, in.DynamicASN = 0, DynamicASNInternal
	in.BFD = &BFDConfig{TransmitInterval: 50 * time.Millisecond}
	got, err := normalizePeer(in, rid)
	if err != nil {
		t.Fatal(err)
	}
	want := PeerConfig{
		Name: "p", MyASN: 64512, PeerASN: 64512, Address: addr4, RouterID: rid,
		BFD: &BFDConfig{TransmitInterval: 50 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got, cmpNet); diff != "" {
		t.Errorf("normalizePeer (-want +got):\n%s", diff)
	}
	if got.BFD == in.BFD {
		t.Error("normalizePeer shares the caller's BFDConfig")
	}
	other := okPeer()
	other.RouterID = netip.MustParseAddr("192.0.2.9")
	if _, err := normalizePeer(other, rid); !errors.Is(err, ErrUnsupported) {
		t.Errorf("different router ID: err = %v, want ErrUnsupported", err)
	}
}

func TestNormalizePeers(t *testing.T) {
	a, b, dupName, dupAddr := okPeer(), okPeer(), okPeer(), okPeer()
	a.Name, b.Name, b.Address = "a", "b", addr6
	dupName.Name, dupName.Address = "a", netip.MustParseAddr("10.0.0.9")
	dupAddr.Name = "c"
	bad := okPeer()
	bad.Name, bad.BFD = "bad", &BFDConfig{PassiveMode: true}
	link, dupLink := okPeer(), okPeer()
	link.Name, link.Address, link.Interface = "link", netip.Addr{}, "p2p0"
	dupLink.Name, dupLink.Address, dupLink.Interface = "link2", netip.Addr{}, "p2p0"
	got, err := normalizePeers([]PeerConfig{a, b, dupName, dupAddr, bad, link, dupLink}, rid)
	for _, w := range []string{`"a" used twice`, `share address 10.0.0.2`, `peer "bad"`, `"link" and "link2" share interface "p2p0"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("normalizePeers error = %v, want it to mention %s", err, w)
		}
	}
	if names := sortedNames(got); !cmp.Equal(names, []string{"a", "b", "link"}) {
		t.Errorf("kept %v, want [a b link]", names)
	}
}

func TestNormalizePath(t *testing.T) {
	got, err := normalizePath(Path{
		Prefix:           netip.MustParsePrefix("192.0.2.7/24"),
		Peers:            []string{"b", "a", "b"},
		Communities:      []uint32{3, 1, 3},
		LargeCommunities: []LargeCommunity{{2, 0, 0}, {1, 5, 5}, {1, 5, 4}, {2, 0, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Path{
		Prefix:           netip.MustParsePrefix("192.0.2.0/24"),
		Peers:            []string{"a", "b"},
		Communities:      []uint32{1, 3},
		LargeCommunities: []LargeCommunity{{1, 5, 4}, {1, 5, 5}, {2, 0, 0}},
	}
	if diff := cmp.Diff(want, got, cmpNet); diff != "" {
		t.Errorf("normalizePath (-want +got):\n%s", diff)
	}
	for _, bad := range []netip.Prefix{{}, netip.MustParsePrefix("::ffff:10.0.0.1/128")} {
		if _, err := normalizePath(Path{Prefix: bad}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("normalizePath(%v) error = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

// FuzzNormalizePath checks that normalization is idempotent and keeps the
// sets of peers and communities.
func FuzzNormalizePath(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, uint8(32), "a,b,a", uint32(7), uint32(3))
	f.Add(make([]byte, 16), uint8(128), "", uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, ip []byte, bits uint8, peers string, c1, c2 uint32) {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		p := Path{Prefix: netip.PrefixFrom(a, int(bits)), Communities: []uint32{c1, c2, c1}}
		if peers != "" {
			p.Peers = strings.Split(peers, ",")
		}
		n, err := normalizePath(p)
		if err != nil {
			return
		}
		again, err := normalizePath(n)
		if err != nil || !equal(n, again) {
			t.Fatalf("normalize not idempotent: %+v -> %+v (%v)", n, again, err)
		}
		for _, name := range p.Peers {
			if !targets(n, name) {
				t.Fatalf("lost peer %q", name)
			}
		}
	})
}
