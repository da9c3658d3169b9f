package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/model"
)

// Route is one prefix this node advertises for one Service.
type Route struct {
	Prefix netip.Prefix
	// Peers are the names of the BGPPeers to send to, sorted.
	Peers []string
	// LocalPref is 0 when unset.
	LocalPref uint32
	// Communities and LargeCommunities are sorted and unique.
	Communities      []uint32
	LargeCommunities []model.LargeCommunity
	// Weight is the Service's ready endpoints on this node when the
	// advertisement weights by endpoints and the Service's policy is
	// Local; 0 means unweighted (a weighted route has at least one
	// endpoint, or it would not be announced).
	Weight uint32
	// WeightAS is the AS a weighted route's link-bandwidth community
	// names: the local ASN of its sessions, or AS_TRANS (23456) when that
	// needs 4 octets or the sessions differ.
	WeightAS uint16
	// Advertisement names the BGPAdvertisement the route comes from.
	Advertisement string
	// Service is the Service the route is for.
	Service types.NamespacedName
}

// SessionPeers returns the peers whose node selectors select this node,
// sorted by name. An excluded node opens no session.
func SessionPeers(cfg *model.Config, self Node) []*model.Peer {
	if self.Excluded {
		return nil
	}
	var out []*model.Peer
	for _, p := range cfg.Peers {
		if p.NodeSelectors.MatchAny(self.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// BGPRoutes returns the routes this node advertises for one Service:
// for each address in a pool covered by a BGPAdvertisement that selects
// the Service and this node, the address's prefix at the advertisement's
// aggregation length, sent to the advertisement's peers among this node's
// sessions. Cluster Services need a ready endpoint anywhere; Local ones
// one on this node. Skipped addresses are reported.
func BGPRoutes(cfg *model.Config, self Node, sessions []*model.Peer, s *Service) ([]Route, []Skipped) {
	var routes []Route
	var skipped []Skipped
	for _, ip := range s.IPs {
		r, reason, _ := bgpRoutesFor(cfg, self, sessions, s, ip)
		if reason != "" {
			skipped = append(skipped, Skipped{IP: ip, Service: s.Key, Reason: reason})
		}
		routes = append(routes, r...)
	}
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
			cmp.Compare(a.Advertisement, b.Advertisement))
	})
	return routes, skipped
}

// bgpRoutesFor returns the routes of one address, or why there are none:
// a Reason, and in plain words why this node announces nothing.
func bgpRoutesFor(cfg *model.Config, self Node, sessions []*model.Peer, s *Service, ip netip.Addr) ([]Route, Reason, string) {
	pool := cfg.PoolFor(ip)
	if pool == nil {
		return nil, ReasonNoPool, "the address is in no pool"
	}
	var out []Route
	covered := false
	var why []string
	for _, a := range cfg.BGPAdvertisements {
		if !slices.Contains(a.Pools, pool.Name) || !a.ServiceSelectors.MatchAny(s.Labels) {
			continue
		}
		covered = true
		if w := bgpNodeRefusal(a, self, s); w != "" {
			why = append(why, w)
			continue
		}
		peers := routePeers(a, sessions)
		if len(peers) == 0 {
			why = append(why, noPeersText(a, sessions))
			continue
		}
		bits := a.AggregationLength
		if ip.Is6() {
			bits = a.AggregationLengthV6
		}
		prefix, _ := ip.Prefix(bits)
		r := Route{Prefix: prefix, Peers: peers, LocalPref: a.LocalPref,
			Communities: a.Communities, LargeCommunities: a.LargeCommunities, Weight: routeWeight(a, self, s),
			Advertisement: a.Name, Service: s.Key}
		if r.Weight != 0 {
			r.WeightAS = weightAS(peers, sessions)
		}
		out = append(out, r)
	}
	switch {
	case !covered:
		return nil, ReasonNoAdvertisement, fmt.Sprintf("no BGPAdvertisement covers pool %q and selects the Service", pool.Name)
	case len(out) == 0 && !s.hasReadyOn(self.Name):
		return nil, ReasonNoEndpoints, strings.Join(slices.Compact(why), "; ")
	case len(out) == 0:
		return nil, ReasonNoCandidate, strings.Join(slices.Compact(why), "; ")
	}
	return out, "", ""
}

// bgpNodeRefusal says why an advertisement gives this node no route for
// the Service, or returns "".
func bgpNodeRefusal(a *model.BGPAdvertisement, self Node, s *Service) string {
	switch {
	case self.Excluded:
		return "excluded by its " + cmp.Or(self.ExcludedBy, "configuration")
	case !a.NodeSelectors.MatchAny(self.Labels):
		return fmt.Sprintf("its labels match no node selector of BGPAdvertisement %q", a.Name)
	case !s.hasReadyOn(self.Name):
		if s.Local {
			return "no ready endpoint of the Service on it (externalTrafficPolicy Local)"
		}
		return "the Service has no ready endpoint"
	}
	return ""
}

// noPeersText explains an advertisement without peers on this node.
func noPeersText(a *model.BGPAdvertisement, sessions []*model.Peer) string {
	if len(sessions) == 0 {
		return "it has no BGP session: no BGPPeer's node selectors select it"
	}
	names := make([]string, len(sessions))
	for i, p := range sessions {
		names[i] = p.Name
	}
	return fmt.Sprintf("none of its BGP sessions %q is among BGPAdvertisement %q's peers %q", names, a.Name, a.Peers)
}

// routeWeight is the weight of a route of a Service from this node: its
// ready endpoints here when the advertisement asks for it and the policy
// is Local (a Cluster Service's traffic spreads over every endpoint from
// any node, so its nodes stay equal).
func routeWeight(a *model.BGPAdvertisement, self Node, s *Service) uint32 {
	if !a.WeightByEndpoints || !s.Local {
		return 0
	}
	return uint32(max(s.ReadyCount[self.Name], 1))
}

// asTrans stands for a 4-octet AS in a 2-octet field (RFC 6793).
const asTrans = 23456

// weightAS is the 2-octet AS of a weighted route sent to peers: the AS
// its sessions present (localASN when set).
func weightAS(peers []string, sessions []*model.Peer) uint16 {
	var asn uint32
	for _, p := range sessions {
		if !slices.Contains(peers, p.Name) {
			continue
		}
		if asn != 0 && asn != p.SessionASN() {
			return asTrans
		}
		asn = p.SessionASN()
	}
	if asn == 0 || asn > 0xffff {
		return asTrans
	}
	return uint16(asn)
}

// routePeers returns the advertisement's peers among this node's sessions.
func routePeers(a *model.BGPAdvertisement, sessions []*model.Peer) []string {
	var out []string
	for _, p := range sessions {
		if len(a.Peers) == 0 || slices.Contains(a.Peers, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// Path is a prefix's merged announcement: identical prefixes from several
// Services or advertisements are announced once.
type Path struct {
	Prefix           netip.Prefix
	Peers            []string
	LocalPref        uint32
	Communities      []uint32
	LargeCommunities []model.LargeCommunity
	// Conflict names advertisements that asked for different localPref
	// values; the value of the first by name is used and the conflict is
	// reported.
	Conflict []string
	// Weight is this node's share of the prefix's traffic (ready local
	// endpoints, summed over the Services of the prefix); 0 means
	// unweighted.
	Weight uint32
	// WeightAS is the AS of the weighted routes (AS_TRANS when they
	// differ).
	WeightAS uint16
	// WeightConflict names the advertisements of the prefix's routes when
	// some are weighted and others are not (advertisements disagreeing on
	// weightByEndpoints, or a Cluster Service sharing the prefix with a
	// weighted Local one): the path is then unweighted and the conflict
	// reported.
	WeightConflict []string
}

// Merge combines the routes of one prefix: peers and communities are
// unioned; different localPref values are a conflict. The weight is the
// sum over Services of each Service's weight (the largest of its routes:
// one Service under two advertisements counts once), when every route is
// weighted.
func Merge(prefix netip.Prefix, routes []Route) Path {
	p := Path{Prefix: prefix}
	sorted := slices.Clone(routes)
	slices.SortFunc(sorted, func(a, b Route) int { return cmp.Compare(a.Advertisement, b.Advertisement) })
	prefs := map[uint32][]string{}
	for i, r := range sorted {
		p.Peers = append(p.Peers, r.Peers...)
		p.Communities = append(p.Communities, r.Communities...)
		p.LargeCommunities = append(p.LargeCommunities, r.LargeCommunities...)
		if i == 0 {
			p.LocalPref = r.LocalPref
		}
		prefs[r.LocalPref] = append(prefs[r.LocalPref], r.Advertisement)
	}
	if len(prefs) > 1 {
		p.Conflict = advertisementNames(sorted)
	}
	p.Weight, p.WeightConflict = mergeWeights(sorted)
	if p.Weight != 0 {
		p.WeightAS = mergeWeightAS(sorted)
	}
	slices.Sort(p.Peers)
	p.Peers = slices.Compact(p.Peers)
	slices.Sort(p.Communities)
	p.Communities = slices.Compact(p.Communities)
	slices.SortFunc(p.LargeCommunities, func(a, b model.LargeCommunity) int {
		return cmp.Or(cmp.Compare(a.GlobalAdmin, b.GlobalAdmin), cmp.Compare(a.LocalData1, b.LocalData1), cmp.Compare(a.LocalData2, b.LocalData2))
	})
	p.LargeCommunities = slices.Compact(p.LargeCommunities)
	return p
}

// advertisementNames returns the unique advertisement names of routes
// sorted by advertisement.
func advertisementNames(sorted []Route) []string {
	var out []string
	for _, r := range sorted {
		out = append(out, r.Advertisement)
	}
	return slices.Compact(out)
}

// mergeWeights returns the weight of a prefix's routes (sorted by
// advertisement), or 0 and the advertisements when weighted and
// unweighted routes mix.
func mergeWeights(sorted []Route) (uint32, []string) {
	perService := map[types.NamespacedName]uint32{}
	unweighted := false
	for _, r := range sorted {
		if r.Weight == 0 {
			unweighted = true
			continue
		}
		perService[r.Service] = max(perService[r.Service], r.Weight)
	}
	switch {
	case len(perService) == 0:
		return 0, nil
	case unweighted:
		return 0, advertisementNames(sorted)
	}
	var sum uint32
	for _, w := range perService {
		sum += w
	}
	return sum, nil
}

// mergeWeightAS is the AS of weighted routes: theirs when they agree,
// else AS_TRANS.
func mergeWeightAS(routes []Route) uint16 {
	as := routes[0].WeightAS
	for _, r := range routes[1:] {
		if r.WeightAS != as {
			return asTrans
		}
	}
	return as
}

// BGPAnnouncement says who announces one Service over BGP: the nodes whose
// speakers advertise any of its prefixes, the prefixes and the peers they
// go to. Each list is sorted.
type BGPAnnouncement struct {
	Nodes    []string
	Prefixes []netip.Prefix
	Peers    []string
}

// Empty reports whether no node announces the Service.
func (a BGPAnnouncement) Empty() bool { return len(a.Nodes) == 0 }

// Equal compares two announcements.
func (a BGPAnnouncement) Equal(b BGPAnnouncement) bool {
	return slices.Equal(a.Nodes, b.Nodes) && slices.Equal(a.Prefixes, b.Prefixes) && slices.Equal(a.Peers, b.Peers)
}

// YieldsToUncordoned reports whether self, cordoned, leaves a Service to
// the nodes that are not: it withdraws its routes when another node that
// is not cordoned announces the Service, so a drain moves traffic away
// while the node still forwards it. A cordoned node that is the only one
// able to announce keeps announcing.
func YieldsToUncordoned(cfg *model.Config, self Node, s *Service, nodes map[string]Node) bool {
	if !self.Cordoned {
		return false
	}
	for _, n := range nodes {
		if n.Cordoned || n.Name == self.Name {
			continue
		}
		if routes, _ := BGPRoutes(cfg, n, SessionPeers(cfg, n), s); len(routes) > 0 {
			return true
		}
	}
	return false
}

// BGPAnnouncers computes who announces one Service: BGPRoutes for every
// node, each with the sessions its peers' node selectors give it, without
// the cordoned nodes that yield to others (YieldsToUncordoned). Every
// speaker computes the same answer from the same inputs, so one of them
// can report it for all.
func BGPAnnouncers(cfg *model.Config, nodes []Node, s *Service) BGPAnnouncement {
	var out BGPAnnouncement
	byName := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	for _, n := range nodes {
		routes, _ := BGPRoutes(cfg, n, SessionPeers(cfg, n), s)
		if len(routes) == 0 || YieldsToUncordoned(cfg, n, s, byName) {
			continue
		}
		out.Nodes = append(out.Nodes, n.Name)
		for _, r := range routes {
			out.Prefixes = append(out.Prefixes, r.Prefix)
			out.Peers = append(out.Peers, r.Peers...)
		}
	}
	slices.Sort(out.Nodes)
	slices.SortFunc(out.Prefixes, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	out.Prefixes = slices.Compact(out.Prefixes)
	slices.Sort(out.Peers)
	out.Peers = slices.Compact(out.Peers)
	return out
}
