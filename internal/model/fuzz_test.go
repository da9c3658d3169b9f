package model

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{"10.0.0.0/24", "10.0.0.1-10.0.0.9", "fd00::/64", "fd00::1 - fd00::9", "x-y", "1.2.3.4/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseAddresses(s)
		if err != nil {
			return
		}
		if !r.First.IsValid() || r.First.Is4() != r.Last.Is4() || r.First.Compare(r.Last) > 0 {
			t.Fatalf("ParseAddresses(%q) = %v: invalid range accepted", s, r)
		}
		ps := RangePrefixes(r)
		if len(ps) == 0 || ps[0].Addr() != r.First || lastOf(ps[len(ps)-1]) != r.Last {
			t.Fatalf("RangePrefixes(%v) = %v does not cover the range", r, ps)
		}
		for i := 1; i < len(ps); i++ {
			if lastOf(ps[i-1]).Next() != ps[i].Addr() {
				t.Fatalf("RangePrefixes(%v) = %v has a gap or overlap", r, ps)
			}
		}
	})
}

func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"65000:100", "large:1:2:3", "0:0", "large:4294967295:0:1", ":", "large:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCommunity(s)
		if err != nil {
			return
		}
		again, err := ParseCommunity(v.String())
		if err != nil || again != v {
			t.Fatalf("ParseCommunity(%q) = %v does not round-trip: %v, %v", s, v, again, err)
		}
	})
}

// FuzzFrom builds configurations from fuzzed fields: From must never panic,
// every accepted configuration must hold non-overlapping pools, an
// accepted placement must be one of the API's spellings, and an accepted
// unnumbered peer a valid interface name and no address.
func FuzzFrom(f *testing.F) {
	f.Add("10.0.0.0/24", "10.0.0.128-10.0.1.5", "65000:1", "eth0", "192.168.1.1", uint32(64512), "app=web", "9s", "Balanced")
	f.Add("fd00::/120", "10.0.0.0/24", "large:1:2:3", "a/b", "fd00::1", uint32(0), "x in (a,b)", "1s", "")
	f.Add("10.0.0.0/24", "10.1.0.0/24", "65000:1", "eth0", "192.168.1.1", uint32(64512), "", "9s", "balanced")
	f.Fuzz(func(t *testing.T, a1, a2, community, iface, peerAddr string, asn uint32, selector, hold, placement string) {
		o := Objects{
			Pools: []v1beta1.IPAddressPool{
				{ObjectMeta: meta("a"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{a1}}},
				{ObjectMeta: meta("b"), Spec: v1beta1.IPAddressPoolSpec{Addresses: strings.Split(a2, ",")}},
			},
			L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{
				Interfaces: []string{iface}, Placement: v1beta1.L2Placement(placement)}}},
			BGPAdvertisements: []v1beta1.BGPAdvertisement{{ObjectMeta: meta("bgp"), Spec: v1beta1.BGPAdvertisementSpec{Communities: []string{community}}}},
			Peers:             []v1beta1.BGPPeer{{ObjectMeta: meta("p"), Spec: v1beta1.BGPPeerSpec{MyASN: asn, PeerASN: asn, PeerAddress: peerAddr}}},
		}
		if iface != "" { // the same name for an unnumbered session
			o.Peers = append(o.Peers, v1beta1.BGPPeer{ObjectMeta: meta("q"), Spec: v1beta1.BGPPeerSpec{MyASN: asn, PeerASN: asn, Interface: iface}})
		}
		if ls, err := metav1.ParseToLabelSelector(selector); err == nil {
			o.L2Advertisements[0].Spec.NodeSelectors = []metav1.LabelSelector{*ls}
		}
		if d, err := time.ParseDuration(hold); err == nil {
			o.Peers[0].Spec.HoldTime = &metav1.Duration{Duration: d}
		}
		cfg, err := From(o)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("From returned %T, want Errors", err)
			}
			return
		}
		checkNoOverlap(t, cfg)
		for _, p := range cfg.Peers {
			if p.Interface != "" && (p.Address.IsValid() || checkInterfaceName(p.Interface) != nil) {
				t.Fatalf("peer %s accepted with address %s and interface %q", p.Name, p.Address, p.Interface)
			}
		}
		if got := cfg.L2Advertisements[0].Placement.String(); got != placement && (placement != "" || got != "Hash") {
			t.Fatalf("placement %q accepted as %s", placement, got)
		}
	})
}

func checkNoOverlap(t *testing.T, cfg *Config) {
	type span struct{ a, b netip.Addr }
	var all []span
	for _, p := range cfg.Pools {
		for _, r := range p.Ranges {
			for _, s := range all {
				if r.First.Compare(s.b) <= 0 && s.a.Compare(r.Last) <= 0 {
					t.Fatalf("accepted overlapping ranges %v and %v", r, s)
				}
			}
			all = append(all, span{r.First, r.Last})
		}
	}
}
