package model

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/internal/ipam"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func node(name string, internal ...string) NodeAddresses {
	return NodeAddresses{Name: name, InternalIPs: addrs(internal...)}
}

func TestReservations(t *testing.T) {
	pools := func(ranges ...string) *Config {
		cfg := &Config{}
		for i := 0; i+1 < len(ranges); i += 2 {
			cfg.Pools = append(cfg.Pools, &Pool{Name: fmt.Sprintf("p%d", i/2), Ranges: []ipam.Range{rng(ranges[i], ranges[i+1])}})
		}
		return cfg
	}
	withPeers := func(cfg *Config, peers ...*Peer) *Config { cfg.Peers = peers; return cfg }
	tests := []struct {
		name  string
		cfg   *Config
		nodes []NodeAddresses
		want  []string // "addr pool kind: reason"
	}{{
		name:  "node addresses inside and outside pools",
		cfg:   pools("192.168.1.240", "192.168.1.250", "fd00::10", "fd00::20"),
		nodes: []NodeAddresses{{Name: "n2", InternalIPs: addrs("192.168.1.245"), ExternalIPs: addrs("fd00::11", "203.0.113.5")}, node("n1", "192.168.1.10")},
		want: []string{
			`192.168.1.240 p0 subnet: network address of 192.168.1.240/28, the smallest subnet holding both the pool's range 192.168.1.240-192.168.1.250 and Node "n2"'s address 192.168.1.245`,
			`192.168.1.245 p0 node: InternalIP of Node "n2"`,
			`fd00::11 p1 node: ExternalIP of Node "n2"`,
		},
	}, {
		name: "peer addresses, numbered or not",
		cfg: withPeers(pools("10.0.0.0", "10.0.0.9"),
			&Peer{Name: "r1", Address: netip.MustParseAddr("10.0.0.1"), SourceAddress: netip.MustParseAddr("10.0.0.2")},
			&Peer{Name: "r2", Interface: "eth1"},
			&Peer{Name: "r3", Address: netip.MustParseAddr("10.0.1.1")}),
		want: []string{
			`10.0.0.1 p0 bgp_peer: peerAddress of BGPPeer "r1"`,
			`10.0.0.2 p0 bgp_peer: sourceAddress of BGPPeer "r1"`,
		},
	}, {
		name: "published subnets are exact: the inferred /28 end is not reserved, the /27's broadcast is",
		cfg:  pools("192.168.1.240", "192.168.1.250", "192.168.2.0", "192.168.2.31"),
		nodes: []NodeAddresses{{Name: "n2", InternalIPs: addrs("192.168.1.245"), SubnetsKnown: true,
			Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("192.168.2.0/27"),
				netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("192.168.3.0/31")}}},
		want: []string{
			`192.168.1.245 p0 node: InternalIP of Node "n2"`,
			`192.168.2.0 p1 subnet: network address of subnet 192.168.2.0/27 of Node "n2" (as its speaker publishes it)`,
			`192.168.2.31 p1 subnet: broadcast address of subnet 192.168.2.0/27 of Node "n2" (as its speaker publishes it)`,
		},
	}, {
		name:  "a pool ending at the broadcast address of the node's /24",
		cfg:   pools("192.168.1.240", "192.168.1.255"),
		nodes: []NodeAddresses{node("n1", "192.168.1.10")},
		want: []string{
			`192.168.1.255 p0 subnet: broadcast address of 192.168.1.0/24, the smallest subnet holding both the pool's range 192.168.1.240-192.168.1.255 and Node "n1"'s address 192.168.1.10`,
		},
	}, {
		name:  "a pool that is the node's whole subnet loses both ends and the node",
		cfg:   pools("192.168.1.0", "192.168.1.255"),
		nodes: []NodeAddresses{node("n1", "192.168.1.10")},
		want: []string{
			`192.168.1.0 p0 subnet: network address of 192.168.1.0/24, the smallest subnet holding both the pool's range 192.168.1.0-192.168.1.255 and Node "n1"'s address 192.168.1.10`,
			`192.168.1.10 p0 node: InternalIP of Node "n1"`,
			`192.168.1.255 p0 subnet: broadcast address of 192.168.1.0/24, the smallest subnet holding both the pool's range 192.168.1.0-192.168.1.255 and Node "n1"'s address 192.168.1.10`,
		},
	}, {
		name:  "a pool in the middle of the subnet, far nodes, IPv6 and /31 have no subnet ends",
		cfg:   pools("192.168.1.100", "192.168.1.200", "10.9.9.8", "10.9.9.9", "fd00::", "fd00::ff"),
		nodes: []NodeAddresses{node("n1", "192.168.1.10", "fd00::1:1"), node("far", "172.16.0.1"), node("pair", "10.9.9.9")},
		want:  []string{`10.9.9.9 p1 node: InternalIP of Node "pair"`},
	}, {
		name: "one reason per address: node before peer before subnet, smaller subnet first",
		cfg: withPeers(pools("192.168.0.128", "192.168.1.255"),
			&Peer{Name: "r", Address: netip.MustParseAddr("192.168.1.200")}),
		nodes: []NodeAddresses{node("a", "192.168.1.200"), node("b", "192.168.1.10"), node("c", "192.168.2.1")},
		want: []string{
			`192.168.1.10 p0 node: InternalIP of Node "b"`,
			`192.168.1.200 p0 node: InternalIP of Node "a"`,
			`192.168.1.255 p0 subnet: broadcast address of 192.168.0.0/23, the smallest subnet holding both the pool's range 192.168.0.128-192.168.1.255 and Node "a"'s address 192.168.1.200`,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range Reservations(tc.cfg, tc.nodes) {
				got = append(got, fmt.Sprintf("%s %s %s: %s", r.Addr, r.Pool, r.Kind, r.Reason))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("reservations (-want +got):\n%s", d)
			}
		})
	}
}

func TestSmallestPrefix(t *testing.T) {
	for _, tc := range []struct{ a, b, c, want, last string }{
		{"192.168.1.240", "192.168.1.255", "192.168.1.10", "192.168.1.0/24", "192.168.1.255"},
		{"10.0.0.0", "10.0.0.0", "10.0.0.1", "10.0.0.0/31", "10.0.0.1"},
		{"10.0.0.0", "10.0.0.0", "10.0.0.0", "10.0.0.0/32", "10.0.0.0"},
		{"10.0.0.0", "10.0.0.255", "192.168.0.1", "0.0.0.0/0", "255.255.255.255"},
	} {
		p := smallestPrefix(netip.MustParseAddr(tc.a), netip.MustParseAddr(tc.b), netip.MustParseAddr(tc.c))
		if p.String() != tc.want || lastOf(p).String() != tc.last {
			t.Errorf("smallestPrefix(%s, %s, %s) = %s ending %s, want %s ending %s", tc.a, tc.b, tc.c, p, lastOf(p), tc.want, tc.last)
		}
	}
}
