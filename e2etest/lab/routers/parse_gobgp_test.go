package routers

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Samples recorded from gobgpd 3.10 (`gobgp -j`) on the lab machine; the
// second path of 198.51.100.7/32 and the local pref are added by hand.
const goBGPRib4 = `{"198.51.100.7/32":[{"nlri":{"prefix":"198.51.100.7/32"},"age":1796671469,"best":true,"attrs":[{"type":1,"value":0},` +
	`{"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[64501]}]},{"type":3,"nexthop":"192.168.77.11"},` +
	`{"type":8,"communities":[4227137636]},{"type":32,"value":[{"ASN":64501,"LocalData1":1,"LocalData2":2}]}],` +
	`"stale":false,"source-id":"192.168.77.11","neighbor-ip":"192.168.77.11"},` +
	`{"nlri":{"prefix":"198.51.100.7/32"},"age":1796671470,"best":false,"attrs":[{"type":1,"value":0},` +
	`{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[64502,64503]}]},{"type":3,"nexthop":"192.168.77.12"},{"type":5,"value":250}],` +
	`"stale":false,"source-id":"192.168.77.12","neighbor-ip":"192.168.77.12"}]}`

const goBGPRib6 = `{"2001:db8:100::7/128":[{"nlri":{"prefix":"2001:db8:100::7/128"},"age":1796671467,"best":true,"attrs":[{"type":1,"value":0},` +
	`{"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[64501]}]},{"type":8,"communities":[4227137636]},` +
	`{"type":32,"value":[{"ASN":64501,"LocalData1":1,"LocalData2":2}]},` +
	`{"type":14,"nexthop":"fd00:77::11","afi":2,"safi":1,"value":[{"prefix":"2001:db8:100::7/128"}]}],` +
	`"stale":false,"source-id":"192.168.77.11","neighbor-ip":"fd00:77::11"}]}`

func TestParseGoBGPRib(t *testing.T) {
	a, p := netip.MustParseAddr, netip.MustParsePrefix
	for _, c := range []struct {
		name, in string
		want     []Route
	}{
		{"ipv4", goBGPRib4, []Route{
			{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.11"), Peer: a("192.168.77.11"), From: "192.168.77.11", Best: true,
				ASPath: "64501", Communities: []string{"64501:100"}, LargeCommunities: []string{"64501:1:2"}},
			{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.12"), Peer: a("192.168.77.12"), From: "192.168.77.12",
				ASPath: "64502 64503", LocalPref: 250},
		}},
		{"ipv6", goBGPRib6, []Route{
			{Prefix: p("2001:db8:100::7/128"), NextHop: a("fd00:77::11"), Peer: a("fd00:77::11"), From: "fd00:77::11", Best: true,
				ASPath: "64501", Communities: []string{"64501:100"}, LargeCommunities: []string{"64501:1:2"}},
		}},
		{"empty table", "{}", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseGoBGPRib([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got, addrCmp, prefixCmp); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGoBGPRibErrors(t *testing.T) {
	for _, in := range []string{
		`[]`,
		`{"not-a-prefix":[{}]}`,
		`{"198.51.100.7/32":[{"attrs":[{"type":5,"value":"x"}]}]}`,
		`{"198.51.100.7/32":[{"attrs":[{"type":32,"value":{}}]}]}`,
	} {
		if rs, err := ParseGoBGPRib([]byte(in)); err == nil {
			t.Errorf("ParseGoBGPRib(%s) = %+v, want an error", in, rs)
		}
	}
}

// goBGPNeighbors is `gobgp -j neighbor` with two dynamic neighbours (no
// conf.neighbor_address) and a configured one in Active, trimmed.
const goBGPNeighbors = `[{"conf":{"local_asn":64500,"peer_group":"range1","type":1},"state":{"neighbor_address":"fd00:77::11","peer_asn":64501,"type":1,"session_state":6,"router_id":"192.168.77.11"},"timers":{"config":{"hold_time":9}}},` +
	`{"conf":{"local_asn":64500,"peer_group":"range0","type":1},"state":{"neighbor_address":"192.168.77.11","peer_asn":64501,"type":1,"session_state":6}},` +
	`{"conf":{"local_asn":64500,"neighbor_address":"192.168.77.12","peer_asn":64502},"state":{"session_state":3}}]`

func TestParseGoBGPNeighbors(t *testing.T) {
	got, err := ParseGoBGPNeighbors([]byte(goBGPNeighbors))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	want := []Session{
		{Peer: a("fd00:77::11"), State: "Established", RemoteAS: 64501},
		{Peer: a("192.168.77.11"), State: "Established", RemoteAS: 64501},
		{Peer: a("192.168.77.12"), State: "Active", RemoteAS: 64502},
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	if got, err := ParseGoBGPNeighbors([]byte(`[{"state":{"session_state":99,"neighbor_address":"192.168.77.13"}}]`)); err != nil || got[0].State != "Unknown" {
		t.Errorf("unknown state: %+v, %v", got, err)
	}
	for _, in := range []string{`{}`, `[{"state":{}}]`, `[{"state":{"neighbor_address":"x"}}]`} {
		if ss, err := ParseGoBGPNeighbors([]byte(in)); err == nil {
			t.Errorf("ParseGoBGPNeighbors(%s) = %+v, want an error", in, ss)
		}
	}
}

func FuzzParseGoBGP(f *testing.F) {
	f.Add([]byte(goBGPRib4))
	f.Add([]byte(goBGPRib6))
	f.Add([]byte(goBGPNeighbors))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseGoBGPRib(b)
		ParseGoBGPNeighbors(b)
	})
}
