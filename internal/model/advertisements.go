package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

const (
	kindL2  = "L2Advertisement"
	kindBGP = "BGPAdvertisement"
)

// convertL2Advertisements validates L2 advertisements.
func convertL2Advertisements(c *collector, in []v1beta1.L2Advertisement, pools []v1beta1.IPAddressPool) []*L2Advertisement {
	in = sortedByName(in, func(o *v1beta1.L2Advertisement) string { return o.Name })
	var out []*L2Advertisement
	seen := map[string]bool{}
	for i := range in {
		a := &in[i]
		if seen[a.Name] {
			c.add(kindL2, a.Name, "metadata.name", "duplicate advertisement name")
			continue
		}
		seen[a.Name] = true
		ifaces := slices.Clone(a.Spec.Interfaces)
		for j, name := range ifaces {
			if err := checkInterfaceName(name); err != nil {
				c.add(kindL2, a.Name, fmt.Sprintf("spec.interfaces[%d]", j), "%v", err)
			}
		}
		slices.Sort(ifaces)
		out = append(out, &L2Advertisement{
			Name:             a.Name,
			Pools:            resolvePools(c, kindL2, a.Name, a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, pools),
			NodeSelectors:    compileSelectors(c, kindL2, a.Name, "spec.nodeSelectors", a.Spec.NodeSelectors),
			Interfaces:       slices.Compact(ifaces),
			ServiceSelectors: compileSelectors(c, kindL2, a.Name, "spec.serviceSelectors", a.Spec.ServiceSelectors),
			Placement:        convertPlacement(c, a.Name, a.Spec.Placement),
		})
	}
	return out
}

// checkInterfaceName applies Linux's rules for interface names.
func checkInterfaceName(s string) error {
	switch {
	case s == "" || len(s) > 15:
		return fmt.Errorf("interface name %q must be 1 to 15 characters", s)
	case s == "." || s == "..":
		return fmt.Errorf("interface name %q is reserved", s)
	case strings.ContainsAny(s, "/: \t\n"):
		return fmt.Errorf("interface name %q must not contain '/', ':' or spaces", s)
	}
	return nil
}

// bgpRefs is what BGP advertisements refer to.
type bgpRefs struct {
	pools     []v1beta1.IPAddressPool
	converted []*Pool
	peers     []*Peer
	aliases   map[string]CommunityValue
}

// convertBGPAdvertisements validates BGP advertisements.
func convertBGPAdvertisements(c *collector, in []v1beta1.BGPAdvertisement, refs bgpRefs) []*BGPAdvertisement {
	in = sortedByName(in, func(o *v1beta1.BGPAdvertisement) string { return o.Name })
	var out []*BGPAdvertisement
	seen := map[string]bool{}
	for i := range in {
		a := &in[i]
		if seen[a.Name] {
			c.add(kindBGP, a.Name, "metadata.name", "duplicate advertisement name")
			continue
		}
		seen[a.Name] = true
		out = append(out, convertBGPAdvertisement(c, a, refs))
	}
	return out
}

// convertBGPAdvertisement validates one BGP advertisement.
func convertBGPAdvertisement(c *collector, a *v1beta1.BGPAdvertisement, refs bgpRefs) *BGPAdvertisement {
	s := &a.Spec
	adv := &BGPAdvertisement{
		Name:                a.Name,
		Pools:               resolvePools(c, kindBGP, a.Name, s.IPAddressPools, s.IPAddressPoolSelectors, refs.pools),
		AggregationLength:   aggregationLength(c, a.Name, "spec.aggregationLength", s.AggregationLength, 32),
		AggregationLengthV6: aggregationLength(c, a.Name, "spec.aggregationLengthV6", s.AggregationLengthV6, 128),
		LocalPref:           s.LocalPref,
		WeightByEndpoints:   s.WeightByEndpoints,
		NodeSelectors:       compileSelectors(c, kindBGP, a.Name, "spec.nodeSelectors", s.NodeSelectors),
		ServiceSelectors:    compileSelectors(c, kindBGP, a.Name, "spec.serviceSelectors", s.ServiceSelectors),
	}
	checkAggregation(c, adv, refs.converted)
	adv.Communities, adv.LargeCommunities = resolveCommunities(c, a.Name, s.Communities, refs.aliases)
	for j, name := range s.Peers {
		if !slices.ContainsFunc(refs.peers, func(p *Peer) bool { return p.Name == name }) {
			c.add(kindBGP, a.Name, fmt.Sprintf("spec.peers[%d]", j), "unknown BGPPeer %q", name)
		}
	}
	adv.Peers = slices.Compact(slices.Sorted(slices.Values(s.Peers)))
	return adv
}

// aggregationLength validates an aggregation length and applies its default.
func aggregationLength(c *collector, name, field string, v *int32, max int) int {
	if v == nil {
		return max
	}
	if *v < 0 || int(*v) > max {
		c.add(kindBGP, name, field, "must be between 0 and %d, got %d", max, *v)
		return max
	}
	return int(*v)
}

// checkAggregation rejects an aggregation length shorter than a covered
// pool's prefixes: the route would attract traffic for addresses that are
// not the pool's.
func checkAggregation(c *collector, adv *BGPAdvertisement, pools []*Pool) {
	for _, p := range pools {
		if !slices.Contains(adv.Pools, p.Name) {
			continue
		}
		for _, r := range p.Ranges {
			length, field := adv.AggregationLength, "spec.aggregationLength"
			if r.First.Is6() {
				length, field = adv.AggregationLengthV6, "spec.aggregationLengthV6"
			}
			for _, pfx := range RangePrefixes(r) {
				if length < pfx.Bits() {
					c.add(kindBGP, adv.Name, field, "%d is shorter than %s of IPAddressPool %q: the aggregate would cover addresses outside the pool", length, pfx, p.Name)
					break
				}
			}
		}
	}
}

// resolveCommunities parses literal communities and resolves aliases.
func resolveCommunities(c *collector, name string, in []string, aliases map[string]CommunityValue) ([]uint32, []LargeCommunity) {
	var std []uint32
	var large []LargeCommunity
	for j, s := range in {
		field := fmt.Sprintf("spec.communities[%d]", j)
		v, ok := aliases[s]
		if !ok {
			if !strings.Contains(s, ":") {
				c.add(kindBGP, name, field, "unknown community alias %q (define it in a Community object)", s)
				continue
			}
			var err error
			if v, err = ParseCommunity(s); err != nil {
				c.add(kindBGP, name, field, "%v", err)
				continue
			}
		}
		if v.Large {
			large = append(large, v.LargeVal)
		} else {
			std = append(std, v.Standard)
		}
	}
	slices.Sort(std)
	slices.SortFunc(large, compareLarge)
	return slices.Compact(std), slices.Compact(large)
}

// compareLarge orders large communities field by field.
func compareLarge(a, b LargeCommunity) int {
	return cmp.Or(cmp.Compare(a.GlobalAdmin, b.GlobalAdmin), cmp.Compare(a.LocalData1, b.LocalData1), cmp.Compare(a.LocalData2, b.LocalData2))
}

// resolvePools turns pool names and selectors into a sorted list of pool
// names; both empty means every pool.
func resolvePools(c *collector, kind, name string, names []string, sels []metav1.LabelSelector, pools []v1beta1.IPAddressPool) []string {
	var out []string
	if len(names) == 0 && len(sels) == 0 {
		for i := range pools {
			out = append(out, pools[i].Name)
		}
	}
	for j, n := range names {
		if !slices.ContainsFunc(pools, func(p v1beta1.IPAddressPool) bool { return p.Name == n }) {
			c.add(kind, name, fmt.Sprintf("spec.ipAddressPools[%d]", j), "unknown IPAddressPool %q", n)
			continue
		}
		out = append(out, n)
	}
	for _, sel := range compileSelectors(c, kind, name, "spec.ipAddressPoolSelectors", sels) {
		for i := range pools {
			if sel.Matches(pools[i].Labels) {
				out = append(out, pools[i].Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
