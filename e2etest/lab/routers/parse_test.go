package routers

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	addrCmp   = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
)

// Samples recorded from FRR 8.4.4 and BIRD 2.0.12 on the lab machine.
const frrTable = `{
 "vrfId": 0, "routerId": "192.168.77.254", "defaultLocPrf": 100, "localAS": 64500,
 "routes": { "198.51.100.7/32": [{"valid":true,"bestpath":true,"selectionReason":"First path received","pathFrom":"external","prefix":"198.51.100.7","prefixLen":32,"network":"198.51.100.7/32","version":1,"weight":0,"peerId":"192.168.77.11","path":"64501","origin":"IGP","nexthops":[{"ip":"192.168.77.11","afi":"ipv4","used":true}]},
 {"valid":true,"multipath":true,"peerId":"192.168.77.12","path":"64501","origin":"IGP","nexthops":[{"ip":"192.168.77.12","afi":"ipv4","used":true}]}],
 "2001:db8:7::7/128": [{"valid":true,"bestpath":true,"peerId":"fd00:77::11","path":"64501","origin":"IGP","nexthops":[{"ip":"fd00:77::11","afi":"ipv6","scope":"global"},{"ip":"fe80::2495:19ff:fea1:157d","afi":"ipv6","scope":"link-local","used":true}]}]
 }  } `

func TestParseFRRTable(t *testing.T) {
	got, err := ParseFRRTable([]byte(frrTable))
	if err != nil {
		t.Fatal(err)
	}
	a, p := netip.MustParseAddr, netip.MustParsePrefix
	want := []Route{
		{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.11"), Peer: a("192.168.77.11"), From: "192.168.77.11", Best: true, ASPath: "64501"},
		{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.12"), Peer: a("192.168.77.12"), From: "192.168.77.12", Multipath: true, ASPath: "64501"},
		{Prefix: p("2001:db8:7::7/128"), NextHop: a("fd00:77::11"), LinkLocalNextHop: a("fe80::2495:19ff:fea1:157d"), Peer: a("fd00:77::11"), From: "fd00:77::11", Best: true, ASPath: "64501"},
	}
	if diff := cmp.Diff(want, got, addrCmp, prefixCmp); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if nh := NextHops(got, p("198.51.100.7/32")); len(nh) != 2 {
		t.Errorf("NextHops = %v, want 2", nh)
	}
	if ps := Prefixes(got); len(ps) != 2 || ps[0] != p("198.51.100.7/32") {
		t.Errorf("Prefixes = %v", ps)
	}
}

const frrPrefix = `{
  "prefix":"198.51.100.7/32",
  "paths":[{"aspath":{"string":"64501","length":1},"origin":"IGP","valid":true,"locPrf":200,
   "bestpath":{"overall":true,"selectionReason":"First path received"},
   "community":{"string":"64501:100","list":["64501:100"]},
   "largeCommunity":{"string":"64501:1:2","list":["64501:1:2"]},
   "nexthops":[{"ip":"192.168.77.11","afi":"ipv4","metric":0,"accessible":true,"used":true}],
   "peer":{"peerId":"192.168.77.11","routerId":"192.168.77.11","type":"external"}}]}`

func TestParseFRRPrefix(t *testing.T) {
	got, err := ParseFRRPrefix([]byte(frrPrefix))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	want := []Route{{Prefix: netip.MustParsePrefix("198.51.100.7/32"), NextHop: a("192.168.77.11"), Peer: a("192.168.77.11"),
		From: "192.168.77.11", Best: true, ASPath: "64501", LocalPref: 200,
		Communities: []string{"64501:100"}, LargeCommunities: []string{"64501:1:2"}}}
	if diff := cmp.Diff(want, got, addrCmp, prefixCmp); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if rs, err := ParseFRRPrefix([]byte("{}")); err != nil || rs != nil {
		t.Errorf("absent prefix: %v, %v", rs, err)
	}
}

func TestParseFRRNeighbors(t *testing.T) {
	in := `{"192.168.77.11":{"remoteAs":64501,"bgpState":"Established"},"fd00:77::12":{"remoteAs":64502,"bgpState":"Active"},"RANGE0":{}}`
	got, err := ParseFRRNeighbors([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{{Peer: netip.MustParseAddr("192.168.77.11"), State: "Established", RemoteAS: 64501},
		{Peer: netip.MustParseAddr("fd00:77::12"), State: "Active", RemoteAS: 64502}}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	if CountEstablished(got) != 1 {
		t.Errorf("CountEstablished = %d", CountEstablished(got))
	}
}

const birdRoutes = "BIRD 2.0.12 ready.\nTable master4:\n" +
	"198.51.100.7/32      unicast [peer1 20:29:18.324] * (100) [AS64501i]\n" +
	"\tvia 192.168.77.11 on eth0\n\tType: BGP univ\n\tBGP.origin: IGP\n\tBGP.as_path: 64501\n" +
	"\tBGP.next_hop: 192.168.77.11\n\tBGP.local_pref: 100\n\tBGP.community: (64501,100) (64501,7)\n" +
	"\tBGP.large_community: (64501, 1, 2)\n" +
	"                     unicast [dyn1_1 20:29:19.000] (100) [AS64502i]\n" +
	"\tvia 192.168.77.12 on eth0\n\tBGP.as_path: 64502\n" +
	"10.9.0.0/24          blackhole [s4 20:28:59.538] * (200)\n\tType: static univ\n\n" +
	"Table master6:\n2001:db8:7::7/128    unicast [peer2 20:29:03.318] * (100) [AS64501i]\n" +
	"\tvia fd00:77::11 on eth0\n\tBGP.next_hop: fd00:77::11 fe80::1\n"

func TestParseBIRDRoutes(t *testing.T) {
	got, err := ParseBIRDRoutes([]byte(birdRoutes))
	if err != nil {
		t.Fatal(err)
	}
	a, p := netip.MustParseAddr, netip.MustParsePrefix
	want := []Route{
		{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.11"), From: "peer1", Best: true, ASPath: "64501", LocalPref: 100,
			Communities: []string{"64501:100", "64501:7"}, LargeCommunities: []string{"64501:1:2"}},
		{Prefix: p("198.51.100.7/32"), NextHop: a("192.168.77.12"), From: "dyn1_1", ASPath: "64502"},
		{Prefix: p("10.9.0.0/24"), From: "s4", Best: true},
		{Prefix: p("2001:db8:7::7/128"), NextHop: a("fd00:77::11"), From: "peer2", Best: true},
	}
	if diff := cmp.Diff(want, got, addrCmp, prefixCmp); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

const birdProtocols = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     20:28:59.538  
kernel4    Kernel     master4    up     20:28:59.538  
peer1      BGP        ---        up     20:29:04.490  Established   
  BGP state:          Established
    Neighbor address: 192.168.77.11
    Neighbor AS:      64501
    Local AS:         64500
range1     BGP        ---        start  20:28:59.538  Passive
  BGP state:          Passive
    Neighbor range:   192.168.77.0/24
peer2      BGP        ---        start  20:28:59.538  Active        Socket: Connection refused
  BGP state:          Active
    Neighbor address: fd00:77::12
    Neighbor AS:      64502
`

func TestParseBIRDProtocols(t *testing.T) {
	got, err := ParseBIRDProtocols([]byte(birdProtocols))
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{{Peer: netip.MustParseAddr("192.168.77.11"), State: "Established", RemoteAS: 64501},
		{Peer: netip.MustParseAddr("fd00:77::12"), State: "Active", RemoteAS: 64502}}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
}

func TestParseIPRoutes(t *testing.T) {
	in := `[{"dst":"default","gateway":"fd00:77::254","dev":"eth0","protocol":"static","flags":[]},
{"dst":"198.51.100.7","nhid":8,"gateway":"192.168.77.11","dev":"eth0","protocol":"bgp","metric":20,"flags":[]},
{"dst":"198.51.100.8","nhid":9,"protocol":"bgp","metric":20,"flags":[],"nexthops":[{"gateway":"192.168.77.12","dev":"eth0","weight":1,"flags":[]},{"gateway":"192.168.77.11","dev":"eth0","weight":1,"flags":[]}]},
{"dst":"198.51.100.9","nhid":10,"protocol":"bgp","metric":20,"flags":[],"nexthops":[{"gateway":"192.168.77.11","dev":"eth0","weight":16,"flags":[]},{"gateway":"192.168.77.12","dev":"eth0","weight":50,"flags":[]}]},
{"dst":"198.51.100.10","nhid":5,"via":{"family":"inet6","host":"fe80::77:3ff:fe00:b"},"dev":"p2p-node1","protocol":"bgp","flags":[]},
{"dst":"198.51.100.11","protocol":"bgp","flags":[],"nexthops":[{"via":{"family":"inet6","host":"fe80::2"},"dev":"p2p-node2","weight":1,"flags":[]},{"via":{"family":"inet6","host":"fe80::1"},"dev":"p2p-node1","weight":1,"flags":[]}]},
{"type":"blackhole","dst":"192.168.77.12","flags":[]},
{"dst":"192.168.77.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"192.168.77.254","flags":[]}]`
	got, err := ParseIPRoutes([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	a, p := netip.MustParseAddr, netip.MustParsePrefix
	want := []KernelRoute{
		{Dst: p("::/0"), NextHops: []netip.Addr{a("fd00:77::254")}, Dev: "eth0", Proto: "static"},
		{Dst: p("198.51.100.7/32"), NextHops: []netip.Addr{a("192.168.77.11")}, Dev: "eth0", Proto: "bgp"},
		{Dst: p("198.51.100.8/32"), NextHops: []netip.Addr{a("192.168.77.11"), a("192.168.77.12")}, Dev: "eth0", Proto: "bgp",
			Weights: map[netip.Addr]int{a("192.168.77.11"): 1, a("192.168.77.12"): 1}},
		{Dst: p("198.51.100.9/32"), NextHops: []netip.Addr{a("192.168.77.11"), a("192.168.77.12")}, Dev: "eth0", Proto: "bgp",
			Weights: map[netip.Addr]int{a("192.168.77.11"): 16, a("192.168.77.12"): 50}},
		{Dst: p("198.51.100.10/32"), NextHops: []netip.Addr{a("fe80::77:3ff:fe00:b")}, Dev: "p2p-node1", Proto: "bgp"},
		{Dst: p("198.51.100.11/32"), NextHops: []netip.Addr{a("fe80::1"), a("fe80::2")}, Dev: "p2p-node2", Proto: "bgp",
			Weights: map[netip.Addr]int{a("fe80::1"): 1, a("fe80::2"): 1}},
		{Dst: p("192.168.77.12/32"), Type: "blackhole"},
		{Dst: p("192.168.77.0/24"), Dev: "eth0", Proto: "kernel"},
	}
	if diff := cmp.Diff(want, got, addrCmp, prefixCmp); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if r, ok := KernelRouteTo(got, p("198.51.100.8/32")); !ok || len(r.NextHops) != 2 {
		t.Errorf("KernelRouteTo = %+v, %v", r, ok)
	}
}

func TestParseFRRBFDPeers(t *testing.T) {
	in := `[{"multihop":false,"peer":"192.168.77.11","local":"192.168.77.254","vrf":"default","interface":"eth0","id":1066922601,"status":"up","uptime":3,"diagnostic":"ok"}]`
	got, err := ParseFRRBFDPeers([]byte(in))
	want := []BFDPeer{{Peer: netip.MustParseAddr("192.168.77.11"), Status: "up"}}
	if err != nil || !cmp.Equal(want, got, addrCmp) {
		t.Errorf("ParseFRRBFDPeers = %+v, %v", got, err)
	}
	if _, err := ParseFRRBFDPeers([]byte(`[{"peer":"x"}]`)); err == nil {
		t.Error("bad peer accepted")
	}
}

func FuzzParseFRR(f *testing.F) {
	f.Add([]byte(frrTable))
	f.Add([]byte(frrPrefix))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseFRRTable(b)
		ParseFRRPrefix(b)
		ParseFRRNeighbors(b)
		ParseFRRBFDPeers(b)
	})
}

func FuzzParseBIRD(f *testing.F) {
	f.Add([]byte(birdRoutes))
	f.Add([]byte(birdProtocols))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseBIRDRoutes(b)
		ParseBIRDProtocols(b)
	})
}

func FuzzParseIPRoutes(f *testing.F) {
	f.Add([]byte(`[{"dst":"default","gateway":"192.168.77.254"}]`))
	f.Fuzz(func(t *testing.T, b []byte) { ParseIPRoutes(b) })
}
