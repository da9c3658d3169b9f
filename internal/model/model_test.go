package model

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
)

// cmpOpts compares selectors by their rendering.
var cmpOpts = []cmp.Option{
	cmp.Comparer(func(a, b Selector) bool { return a.String() == b.String() }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "pylon-system"}
}

func ptr[T any](v T) *T { return &v }

// validObjects is a configuration that uses every kind and most fields.
func validObjects() Objects {
	return Objects{
		Pools: []v1beta1.IPAddressPool{
			{ObjectMeta: metav1.ObjectMeta{Name: "l2", Namespace: "pylon-system", Labels: map[string]string{"mode": "l2"}},
				Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.10.0/28", "fd00:10::/124"}}},
			{ObjectMeta: meta("bgp"), Spec: v1beta1.IPAddressPoolSpec{
				Addresses: []string{"10.20.0.10 - 10.20.0.19"}, AutoAssign: ptr(false), AvoidBuggyIPs: true,
				ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 5, Namespaces: []string{"b", "a"},
					ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"app": "web"}}}}}},
		},
		L2Advertisements: []v1beta1.L2Advertisement{
			{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{
				IPAddressPoolSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"mode": "l2"}}},
				Interfaces:             []string{"eth1", "eth0"}, Placement: v1beta1.L2PlacementBalanced}},
		},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{
			{ObjectMeta: meta("bgp"), Spec: v1beta1.BGPAdvertisementSpec{
				IPAddressPools: []string{"bgp"}, AggregationLength: ptr[int32](31), LocalPref: 100, WeightByEndpoints: true,
				Communities: []string{"65000:2", "no-export-alias", "large:1:2:3", "65000:2"}, Peers: []string{"frr"}}},
		},
		Peers: []v1beta1.BGPPeer{
			{ObjectMeta: meta("bird"), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, DynamicASN: v1beta1.DynamicASNExternal,
				PeerAddress: "fd00:77::1", PeerPort: 1179, EBGPMultiHop: true, EnableGracefulRestart: true,
				LocalASN: 65000, DualStackAddressFamily: true}},
			{ObjectMeta: meta("frr"), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.168.77.1",
				HoldTime: &metav1.Duration{Duration: 9 * time.Second}, BFDProfile: "fast",
				PasswordSecret: &corev1.SecretReference{Name: "frr-pw"}}},
		},
		BFDProfiles: []v1beta1.BFDProfile{{ObjectMeta: meta("fast"), Spec: v1beta1.BFDProfileSpec{
			ReceiveInterval: ptr[uint32](50), TransmitInterval: ptr[uint32](60), DetectMultiplier: ptr[uint32](3)}}},
		Communities: []v1beta1.Community{{ObjectMeta: meta("aliases"), Spec: v1beta1.CommunitySpec{
			Communities: []v1beta1.CommunityAlias{{Name: "no-export-alias", Value: "65535:65281"}}}}},
		Secrets: []corev1.Secret{{ObjectMeta: meta("frr-pw"), Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
}

func TestFromValid(t *testing.T) {
	cfg, err := From(validObjects())
	if err != nil {
		t.Fatalf("From: %v", err)
	}
	fast := &BFDProfile{Name: "fast", ReceiveInterval: 50 * time.Millisecond, TransmitInterval: 60 * time.Millisecond, DetectMultiplier: 3}
	want := &Config{
		Pools: []*Pool{
			{Name: "bgp", Ranges: []ipam.Range{rng("10.20.0.10", "10.20.0.19")}, AvoidBuggyIPs: true,
				Allocation: &Allocation{Priority: 5, Namespaces: []string{"a", "b"},
					NamespaceSelectors: Selectors{}, ServiceSelectors: Selectors{sel(t, "app=web")}}},
			{Name: "l2", Labels: map[string]string{"mode": "l2"}, AutoAssign: true,
				Ranges: []ipam.Range{rng("192.168.10.0", "192.168.10.15"), rng("fd00:10::", "fd00:10::f")}},
		},
		L2Advertisements: []*L2Advertisement{{Name: "l2", Pools: []string{"l2"}, NodeSelectors: Selectors{},
			Interfaces: []string{"eth0", "eth1"}, ServiceSelectors: Selectors{}, Placement: PlacementBalanced}},
		BGPAdvertisements: []*BGPAdvertisement{{Name: "bgp", Pools: []string{"bgp"}, AggregationLength: 31,
			AggregationLengthV6: 128, LocalPref: 100, Communities: []uint32{65000<<16 | 2, 65535<<16 | 65281},
			LargeCommunities: []LargeCommunity{{1, 2, 3}}, NodeSelectors: Selectors{}, Peers: []string{"frr"},
			ServiceSelectors: Selectors{}, WeightByEndpoints: true}},
		Peers: []*Peer{
			{Name: "bird", MyASN: 64512, LocalASN: 65000, DualStack: true, DynamicASN: DynamicASNExternal, Address: addr("fd00:77::1"), Port: 1179,
				HoldTime: 90 * time.Second, KeepaliveTime: 30 * time.Second, ConnectTime: 5 * time.Second,
				NodeSelectors: Selectors{}, EBGPMultiHop: true, GracefulRestart: true},
			{Name: "frr", MyASN: 64512, PeerASN: 64513, Address: addr("192.168.77.1"), Port: 179,
				HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second, ConnectTime: 5 * time.Second,
				NodeSelectors: Selectors{}, Password: "s3cret", BFDProfile: fast},
		},
		BFDProfiles: []*BFDProfile{fast},
	}
	if diff := cmp.Diff(want, cfg, cmpOpts...); diff != "" {
		t.Errorf("From (-want +got):\n%s", diff)
	}
}

func TestFromInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Objects)
		want   []string // each must appear in the error text
	}{
		{"malformed CIDR", func(o *Objects) { o.Pools[0].Spec.Addresses[0] = "192.168.10.0/33" },
			[]string{`IPAddressPool "l2": spec.addresses[0]: invalid CIDR`}},
		{"host bits", func(o *Objects) { o.Pools[0].Spec.Addresses[0] = "192.168.10.1/28" },
			[]string{`spec.addresses[0]: CIDR "192.168.10.1/28" has host bits set; the network is 192.168.10.0/28`}},
		{"range reversed", func(o *Objects) { o.Pools[1].Spec.Addresses[0] = "10.20.0.19-10.20.0.10" },
			[]string{`IPAddressPool "bgp": spec.addresses[0]: range start 10.20.0.19 is after its end 10.20.0.10`}},
		{"range mixed families", func(o *Objects) { o.Pools[1].Spec.Addresses[0] = "10.20.0.1-fd00::1" },
			[]string{"mixes IPv4 and IPv6"}},
		{"not an address", func(o *Objects) { o.Pools[1].Spec.Addresses[0] = "pool" },
			[]string{`"pool" is neither a CIDR`}},
		{"no addresses", func(o *Objects) { o.Pools[1].Spec.Addresses = nil },
			[]string{`IPAddressPool "bgp": spec.addresses: at least one`}},
		{"overlap across pools", func(o *Objects) {
			o.Pools[1].Spec.Addresses = append(o.Pools[1].Spec.Addresses, "192.168.10.8-192.168.10.20")
		},
			[]string{`IPAddressPool "bgp": spec.addresses[1]: 192.168.10.8-192.168.10.20 overlaps 192.168.10.0/28 of IPAddressPool "l2"`}},
		{"overlap within pool", func(o *Objects) { o.Pools[0].Spec.Addresses = append(o.Pools[0].Spec.Addresses, "fd00:10::8/125") },
			[]string{`IPAddressPool "l2": spec.addresses[2]: fd00:10::8/125 overlaps fd00:10::/124 of IPAddressPool "l2"`}},
		{"duplicate pool", func(o *Objects) { o.Pools = append(o.Pools, o.Pools[0]) },
			[]string{`IPAddressPool "l2": metadata.name: duplicate pool name`}},
		{"bad namespace", func(o *Objects) { o.Pools[1].Spec.ServiceAllocation.Namespaces = []string{"Bad_NS"} },
			[]string{`spec.serviceAllocation.namespaces[0]: "Bad_NS" is not a namespace name`}},
		{"bad selector", func(o *Objects) {
			o.Pools[1].Spec.ServiceAllocation.ServiceSelectors[0].MatchLabels = map[string]string{"bad key!": "x"}
		}, []string{`spec.serviceAllocation.serviceSelectors[0]: invalid label selector`}},
		{"unknown pool in L2", func(o *Objects) { o.L2Advertisements[0].Spec.IPAddressPools = []string{"nope"} },
			[]string{`L2Advertisement "l2": spec.ipAddressPools[0]: unknown IPAddressPool "nope"`}},
		{"bad interface", func(o *Objects) { o.L2Advertisements[0].Spec.Interfaces = []string{"a/b"} },
			[]string{`spec.interfaces[0]: interface name "a/b"`}},
		{"bad placement", func(o *Objects) { o.L2Advertisements[0].Spec.Placement = "balanced" },
			[]string{`L2Advertisement "l2": spec.placement: "balanced" is not one of Hash, Balanced`}},
		{"unknown pool in BGP", func(o *Objects) { o.BGPAdvertisements[0].Spec.IPAddressPools = []string{"nope"} },
			[]string{`BGPAdvertisement "bgp": spec.ipAddressPools[0]: unknown IPAddressPool "nope"`}},
		{"aggregation too short", func(o *Objects) { o.BGPAdvertisements[0].Spec.AggregationLength = ptr[int32](24) },
			[]string{`BGPAdvertisement "bgp": spec.aggregationLength: 24 is shorter than 10.20.0.10/31 of IPAddressPool "bgp"`}},
		{"aggregation v6 too short", func(o *Objects) {
			o.BGPAdvertisements[0].Spec.IPAddressPools = []string{"l2"}
			o.BGPAdvertisements[0].Spec.AggregationLength = nil
			o.BGPAdvertisements[0].Spec.AggregationLengthV6 = ptr[int32](64)
		}, []string{`spec.aggregationLengthV6: 64 is shorter than fd00:10::/124`}},
		{"aggregation out of range", func(o *Objects) { o.BGPAdvertisements[0].Spec.AggregationLength = ptr[int32](33) },
			[]string{`spec.aggregationLength: must be between 0 and 32, got 33`}},
		{"unknown community alias", func(o *Objects) { o.BGPAdvertisements[0].Spec.Communities = []string{"gold"} },
			[]string{`spec.communities[0]: unknown community alias "gold"`}},
		{"bad community", func(o *Objects) { o.BGPAdvertisements[0].Spec.Communities = []string{"70000:1"} },
			[]string{`spec.communities[0]: community "70000:1": both parts must be 16-bit numbers`}},
		{"bad large community", func(o *Objects) { o.BGPAdvertisements[0].Spec.Communities = []string{"large:1:2"} },
			[]string{`large community "large:1:2" must be large:A:B:C`}},
		{"unknown peer", func(o *Objects) { o.BGPAdvertisements[0].Spec.Peers = []string{"nope"} },
			[]string{`BGPAdvertisement "bgp": spec.peers[0]: unknown BGPPeer "nope"`}},
		{"duplicate alias", func(o *Objects) {
			o.Communities = append(o.Communities, v1beta1.Community{ObjectMeta: meta("more"), Spec: o.Communities[0].Spec})
		}, []string{`Community "more": spec.communities[0].name: alias "no-export-alias" is already defined in Community "aliases"`}},
		{"bad alias value", func(o *Objects) { o.Communities[0].Spec.Communities[0].Value = "1:2:3" },
			[]string{`Community "aliases": spec.communities[0].value`}},
		{"hold time 2s", func(o *Objects) { o.Peers[1].Spec.HoldTime = &metav1.Duration{Duration: 2 * time.Second} },
			[]string{`BGPPeer "frr": spec.holdTime: must be 0 or between 3s and 65535s, got 2s`}},
		{"hold time 1s", func(o *Objects) { o.Peers[1].Spec.HoldTime = &metav1.Duration{Duration: time.Second} },
			[]string{`spec.holdTime: must be 0 or between 3s`}},
		{"keepalive above hold", func(o *Objects) { o.Peers[1].Spec.KeepaliveTime = &metav1.Duration{Duration: 10 * time.Second} },
			[]string{`BGPPeer "frr": spec.keepaliveTime: must be between 0 and holdTime (9s), got 10s`}},
		{"ASN 0", func(o *Objects) { o.Peers[1].Spec.MyASN = 0 }, []string{`BGPPeer "frr": spec.myASN: ASN 0 is reserved`}},
		{"no peer ASN", func(o *Objects) { o.Peers[1].Spec.PeerASN = 0 }, []string{`spec.peerASN: set the router's ASN`}},
		{"both ASNs", func(o *Objects) { o.Peers[0].Spec.PeerASN = 1 }, []string{`BGPPeer "bird": spec.dynamicASN: peerASN and dynamicASN are mutually exclusive`}},
		{"local ASN is my ASN", func(o *Objects) { o.Peers[1].Spec.LocalASN = 64512 }, []string{`BGPPeer "frr": spec.localASN: 64512 equals myASN; leave localASN unset`}},
		{"local ASN is peer ASN", func(o *Objects) { o.Peers[1].Spec.LocalASN = 64513 }, []string{`BGPPeer "frr": spec.localASN: 64513 equals peerASN: the session would turn iBGP`}},
		{"local ASN on iBGP", func(o *Objects) {
			o.Peers[1].Spec.PeerASN = 64512
			o.Peers[1].Spec.LocalASN = 65000
		}, []string{`BGPPeer "frr": spec.localASN: cannot be used on an iBGP session (peerASN equals myASN 64512)`}},
		{"local ASN with dynamic internal", func(o *Objects) {
			o.Peers[0].Spec.DynamicASN = v1beta1.DynamicASNInternal
			o.Peers[0].Spec.LocalASN = 65000
		}, []string{`BGPPeer "bird": spec.localASN: cannot be used with dynamicASN internal`}},
		{"bad dynamic ASN", func(o *Objects) { o.Peers[0].Spec.DynamicASN = "sideways" }, []string{`spec.dynamicASN: "sideways" is not one of`}},
		{"bad peer address", func(o *Objects) { o.Peers[1].Spec.PeerAddress = "router" }, []string{`BGPPeer "frr": spec.peerAddress: "router" is not a unicast`}},
		{"family mismatch", func(o *Objects) { o.Peers[1].Spec.SourceAddress = "fd00::1" }, []string{`spec.sourceAddress: fd00::1 is not of the same family`}},
		{"bad router id", func(o *Objects) { o.Peers[1].Spec.RouterID = "fd00::1" }, []string{`spec.routerID: "fd00::1" is not an IPv4 address`}},
		{"unknown BFD profile", func(o *Objects) { o.Peers[1].Spec.BFDProfile = "slow" }, []string{`BGPPeer "frr": spec.bfdProfile: unknown BFDProfile "slow"`}},
		{"BFD multihop", func(o *Objects) { o.Peers[0].Spec.BFDProfile = "fast" }, []string{`BGPPeer "bird": spec.bfdProfile: BFD is single-hop only`}},
		{"missing secret", func(o *Objects) { o.Secrets = nil }, []string{`BGPPeer "frr": spec.passwordSecret.name: Secret "frr-pw" not found`}},
		{"secret without key", func(o *Objects) { o.Secrets[0].Data = nil }, []string{`Secret "frr-pw" has no "password" key`}},
		{"secret elsewhere", func(o *Objects) { o.Peers[1].Spec.PasswordSecret.Namespace = "default" }, []string{`spec.passwordSecret.namespace`}},
		{"password and secret", func(o *Objects) { o.Peers[1].Spec.Password = "x" }, []string{`password and passwordSecret are mutually exclusive`}},
		{"duplicate peer address", func(o *Objects) {
			p := o.Peers[1]
			p.Name = "frr2"
			o.Peers = append(o.Peers, p)
		}, []string{`BGPPeer "frr2": spec.peerAddress: 192.168.77.1:179 is already the address of BGPPeer "frr"`}},
		{"address and interface", func(o *Objects) { o.Peers[1].Spec.Interface = "eth1" },
			[]string{`BGPPeer "frr": spec.interface: peerAddress and interface are mutually exclusive`}},
		{"neither address nor interface", func(o *Objects) { o.Peers[1].Spec.PeerAddress = "" },
			[]string{`BGPPeer "frr": spec.peerAddress: required`}},
		{"interface name too long", func(o *Objects) { unnumbered(&o.Peers[1], "a-very-long-name0") },
			[]string{`BGPPeer "frr": spec.interface: interface name "a-very-long-name0" must be 1 to 15 characters`}},
		{"interface name with slash", func(o *Objects) { unnumbered(&o.Peers[1], "eth/1") },
			[]string{`BGPPeer "frr": spec.interface: interface name "eth/1" must not contain`}},
		{"interface name reserved", func(o *Objects) { unnumbered(&o.Peers[1], "..") },
			[]string{`BGPPeer "frr": spec.interface: interface name ".." is reserved`}},
		{"interface with source address", func(o *Objects) {
			unnumbered(&o.Peers[1], "eth1")
			o.Peers[1].Spec.SourceAddress = "192.168.77.2"
		}, []string{`BGPPeer "frr": spec.sourceAddress: cannot be used with interface`}},
		{"interface with multi-hop", func(o *Objects) {
			unnumbered(&o.Peers[1], "eth1")
			o.Peers[1].Spec.EBGPMultiHop = true
		}, []string{`BGPPeer "frr": spec.ebgpMultiHop: cannot be used with interface`}},
		{"interface with BFD", func(o *Objects) {
			unnumbered(&o.Peers[1], "eth1")
			o.Peers[1].Spec.BFDProfile = "fast"
		}, []string{`BGPPeer "frr": spec.bfdProfile: BFD is not supported on unnumbered sessions`}},
		{"duplicate interface", func(o *Objects) {
			unnumbered(&o.Peers[1], "eth1")
			p := o.Peers[1]
			p.Name = "frr2"
			o.Peers = append(o.Peers, p)
		}, []string{`BGPPeer "frr2": spec.interface: eth1 is already the interface of BGPPeer "frr" on the same nodes`}},
		{"BFD echo", func(o *Objects) { o.BFDProfiles[0].Spec.EchoMode = ptr(true) }, []string{`BFDProfile "fast": spec.echoMode: echo mode is not supported`}},
		{"BFD passive", func(o *Objects) { o.BFDProfiles[0].Spec.PassiveMode = ptr(true) }, []string{`spec.passiveMode: passive mode is not supported`}},
		{"BFD ttl", func(o *Objects) { o.BFDProfiles[0].Spec.MinimumTTL = ptr[uint32](254) }, []string{`spec.minimumTtl`}},
		{"BFD interval", func(o *Objects) { o.BFDProfiles[0].Spec.ReceiveInterval = ptr[uint32](5) }, []string{`spec.receiveInterval: must be between 10 and 60000 milliseconds, got 5`}},
		{"BFD multiplier", func(o *Objects) { o.BFDProfiles[0].Spec.DetectMultiplier = ptr[uint32](1) }, []string{`spec.detectMultiplier: must be between 2 and 255, got 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validObjects()
			tt.mutate(&o)
			cfg, err := From(o)
			if err == nil {
				t.Fatalf("From accepted the configuration: %+v", cfg)
			}
			var fe FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v holds no FieldError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestFromOrderIndependent feeds the same objects in many orders and
// expects the same configuration or the same errors.
func TestFromOrderIndependent(t *testing.T) {
	bad := validObjects()
	bad.Pools[1].Spec.Addresses = append(bad.Pools[1].Spec.Addresses, "192.168.10.0/30", "fd00:10::/126")
	bad.BGPAdvertisements[0].Spec.Peers = []string{"x", "y"}
	for _, base := range []Objects{validObjects(), bad} {
		wantCfg, wantErr := From(base)
		r := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			o := shuffled(r, base)
			cfg, err := From(o)
			if diff := cmp.Diff(wantCfg, cfg, cmpOpts...); diff != "" {
				t.Fatalf("config depends on order (-want +got):\n%s", diff)
			}
			if errString(err) != errString(wantErr) {
				t.Fatalf("errors depend on order:\n%v\nvs\n%v", err, wantErr)
			}
		}
	}
}

func shuffled(r *rand.Rand, o Objects) Objects {
	shuffle(r, o.Pools)
	shuffle(r, o.L2Advertisements)
	shuffle(r, o.BGPAdvertisements)
	shuffle(r, o.Peers)
	shuffle(r, o.BFDProfiles)
	shuffle(r, o.Communities)
	shuffle(r, o.Secrets)
	return o
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestEmptyConfig(t *testing.T) {
	cfg, err := From(Objects{})
	if err != nil || cfg == nil {
		t.Fatalf("From(empty) = %v, %v", cfg, err)
	}
}

func TestObjectErrors(t *testing.T) {
	o := validObjects()
	o.Pools[0].Spec.Addresses[0] = "x"
	o.Peers[1].Spec.MyASN = 0
	_, err := From(o)
	got := ObjectErrors(err, "BGPPeer", "frr")
	if len(got) != 1 || got[0].Field != "spec.myASN" {
		t.Errorf("ObjectErrors = %+v", got)
	}
}

func rng(a, b string) ipam.Range { return ipam.Range{First: addr(a), Last: addr(b)} }

func sel(t *testing.T, s string) Selector {
	t.Helper()
	ls, err := metav1.ParseToLabelSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	out := compileSelectors(&collector{}, "", "", "", []metav1.LabelSelector{*ls})
	return out[0]
}

// unnumbered turns p into an unnumbered session over ifname (without BFD,
// which unnumbered sessions do not support).
func unnumbered(p *v1beta1.BGPPeer, ifname string) {
	p.Spec.PeerAddress, p.Spec.BFDProfile = "", ""
	p.Spec.Interface = ifname
}

func TestFromUnnumbered(t *testing.T) {
	o := validObjects()
	unnumbered(&o.Peers[1], "p2p0")
	p := o.Peers[1]
	p.Name = "frr-selected"
	p.Spec.NodeSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "a"}}}
	o.Peers = append(o.Peers, p) // same interface, but only on some nodes: the speaker checks
	cfg, err := From(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Peers[1:] {
		if p.Interface != "p2p0" || p.Address.IsValid() {
			t.Errorf("peer %s: interface %q, address %s; want p2p0 and none", p.Name, p.Interface, p.Address)
		}
	}
}
