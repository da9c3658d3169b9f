package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/election"
	"github.com/pylonlb/pylon/internal/model"
)

// L2Input is everything the L2 plan depends on.
type L2Input struct {
	Config   *model.Config
	Services []Service
	Nodes    map[string]Node
	Members  []Member
}

// L2Announcement is one address and the node that answers for it.
type L2Announcement struct {
	IP netip.Addr
	// Node is the owner.
	Node string
	// Interfaces on the owner that answer; empty means every usable one.
	Interfaces []string
	// Services are the keys of the Services using the address, sorted.
	Services []types.NamespacedName
}

// L2Plan is the cluster-wide L2 decision.
type L2Plan struct {
	// Announcements are sorted by address.
	Announcements []L2Announcement
	// Skipped lists addresses not announced, sorted by Service and address.
	Skipped []Skipped
}

// candidate is a node able to answer for one (Service, address) pair.
type candidate struct {
	node       string
	interfaces []string // nil: every usable interface
}

// use is one Service using one address, with its candidates.
type use struct {
	svc        *Service
	ip         netip.Addr
	candidates []candidate // sorted by node
	placement  model.Placement
}

// L2 computes the owner of every announceable address. Addresses that are
// linked (a dual-stack Service's two addresses, an address shared by
// several Services) form a group that lands on one node, among the nodes
// every use in the group can live on: the winner of the group's key
// (rendezvous hashing, placement Hash), or, for the groups whose
// advertisements ask for placement Balanced, the node election.Balance
// gives it when it places all those groups together under its load bound.
func L2(in L2Input) L2Plan {
	var out L2Plan
	var uses []use
	var sets [][]netip.Addr
	for i := range in.Services {
		s := &in.Services[i]
		sets = append(sets, s.IPs)
		for _, ip := range s.IPs {
			u, reason := l2Use(in, s, ip)
			if reason != "" {
				out.Skipped = append(out.Skipped, Skipped{IP: ip, Service: s.Key, Reason: reason})
				continue
			}
			uses = append(uses, u)
		}
	}
	byIP := map[netip.Addr][]*use{}
	for i := range uses {
		byIP[uses[i].ip] = append(byIP[uses[i].ip], &uses[i])
	}
	var balanced []placed
	for _, g := range election.GroupIPs(sets) {
		pg, ok := out.candidates(g, byIP, in.Nodes)
		switch {
		case !ok:
		case pg.placement == model.PlacementBalanced:
			balanced = append(balanced, pg)
		default:
			owner, _ := election.Winner(g.Key, pg.common)
			out.record(pg, owner, byIP)
		}
	}
	reqs := make([]election.Request, len(balanced))
	for i, pg := range balanced {
		reqs[i] = election.Request{Key: pg.g.Key, Candidates: pg.common}
	}
	for i, owner := range election.Balance(reqs) {
		out.record(balanced[i], owner, byIP)
	}
	slices.SortFunc(out.Announcements, func(a, b L2Announcement) int { return a.IP.Compare(b.IP) })
	slices.SortFunc(out.Skipped, func(a, b Skipped) int {
		return cmp.Or(CompareKeys(a.Service, b.Service), a.IP.Compare(b.IP))
	})
	return out
}

// placed is a group to place: the nodes it may land on and how.
type placed struct {
	g         election.Group
	common    []string
	placement model.Placement
}

// candidates finds the nodes a group may land on (those every use in it
// can live on, preferring uncordoned ones) and its placement: Balanced
// when any use asks for it. A group nobody can announce is reported as
// skipped.
func (p *L2Plan) candidates(g election.Group, byIP map[netip.Addr][]*use, nodes map[string]Node) (placed, bool) {
	var groupUses []*use
	for _, ip := range g.Members {
		groupUses = append(groupUses, byIP[ip]...)
	}
	if len(groupUses) == 0 {
		return placed{}, false
	}
	pg := placed{g: g, common: preferUncordoned(commonNodes(groupUses), nodes)}
	for _, u := range groupUses {
		if u.placement == model.PlacementBalanced {
			pg.placement = model.PlacementBalanced
		}
	}
	if len(pg.common) == 0 {
		for _, u := range groupUses {
			p.Skipped = append(p.Skipped, Skipped{IP: u.ip, Service: u.svc.Key, Reason: ReasonNoCandidate})
		}
		return placed{}, false
	}
	return pg, true
}

// record adds the announcements of a group on its owner.
func (p *L2Plan) record(pg placed, owner string, byIP map[netip.Addr][]*use) {
	for _, ip := range pg.g.Members {
		if a, ok := announcementFor(ip, owner, byIP[ip]); ok {
			p.Announcements = append(p.Announcements, a)
		}
	}
}

// announcementFor builds the announcement of one address on its owner.
func announcementFor(ip netip.Addr, owner string, uses []*use) (L2Announcement, bool) {
	if len(uses) == 0 {
		return L2Announcement{}, false
	}
	a := L2Announcement{IP: ip, Node: owner}
	all := false
	for _, u := range uses {
		a.Services = append(a.Services, u.svc.Key)
		i, _ := slices.BinarySearchFunc(u.candidates, owner, func(c candidate, n string) int { return cmp.Compare(c.node, n) })
		if c := u.candidates[i]; c.interfaces == nil {
			all = true
		} else {
			a.Interfaces = append(a.Interfaces, c.interfaces...)
		}
	}
	if all {
		a.Interfaces = nil
	} else {
		slices.Sort(a.Interfaces)
		a.Interfaces = slices.Compact(a.Interfaces)
	}
	slices.SortFunc(a.Services, CompareKeys)
	a.Services = slices.Compact(a.Services)
	return a, true
}

// preferUncordoned drops cordoned nodes from candidates unless only
// cordoned nodes are left.
func preferUncordoned(candidates []string, nodes map[string]Node) []string {
	out := slices.DeleteFunc(slices.Clone(candidates), func(n string) bool { return nodes[n].Cordoned })
	if len(out) == 0 {
		return candidates
	}
	return out
}

// commonNodes returns the nodes that are candidates for every use.
func commonNodes(uses []*use) []string {
	var out []string
	for _, c := range uses[0].candidates {
		inAll := true
		for _, u := range uses[1:] {
			if _, ok := slices.BinarySearchFunc(u.candidates, c.node, func(c candidate, n string) int { return cmp.Compare(c.node, n) }); !ok {
				inAll = false
				break
			}
		}
		if inAll {
			out = append(out, c.node)
		}
	}
	return out
}

// l2Use finds the candidates for one (Service, address) pair, or why there
// are none.
func l2Use(in L2Input, s *Service, ip netip.Addr) (use, Reason) {
	pool := in.Config.PoolFor(ip)
	if pool == nil {
		return use{}, ReasonNoPool
	}
	advs := l2Advertisements(in.Config, pool, s)
	if len(advs) == 0 {
		return use{}, ReasonNoAdvertisement
	}
	if !s.AnyReady {
		return use{}, ReasonNoEndpoints
	}
	u := use{svc: s, ip: ip, placement: model.PlacementFor(advs)}
	for _, m := range in.Members {
		if c, why := memberCandidate(in.Nodes, m, s, advs); why == "" {
			u.candidates = append(u.candidates, c)
		}
	}
	if len(u.candidates) == 0 {
		if s.Local {
			return use{}, ReasonNoEndpoints
		}
		return use{}, ReasonNoCandidate
	}
	slices.SortFunc(u.candidates, func(a, b candidate) int { return cmp.Compare(a.node, b.node) })
	return u, ""
}

// l2Advertisements returns the L2Advertisements covering the pool that
// select the Service.
func l2Advertisements(cfg *model.Config, pool *model.Pool, s *Service) []*model.L2Advertisement {
	var advs []*model.L2Advertisement
	for _, a := range cfg.L2Advertisements {
		if slices.Contains(a.Pools, pool.Name) && a.ServiceSelectors.MatchAny(s.Labels) {
			advs = append(advs, a)
		}
	}
	return advs
}

// memberCandidate decides whether a member can answer for a Service under
// the matching advertisements, and on which interfaces; when it cannot,
// it says why in plain words.
func memberCandidate(nodes map[string]Node, m Member, s *Service, advs []*model.L2Advertisement) (candidate, string) {
	node, known := nodes[m.Name]
	switch {
	case !known:
		return candidate{}, "no Node object"
	case node.Excluded:
		return candidate{}, "excluded by its " + cmp.Or(node.ExcludedBy, "configuration")
	case m.Draining:
		return candidate{}, "its speaker is draining (handing its addresses over)"
	case len(m.Interfaces) == 0:
		return candidate{}, "its speaker has no usable interface"
	case !s.hasReadyOn(m.Name):
		return candidate{}, "no ready endpoint of the Service on it (externalTrafficPolicy Local)"
	}
	c := candidate{node: m.Name}
	ok, all, selected := false, false, false
	var wanted []string
	for _, a := range advs {
		if !a.NodeSelectors.MatchAny(node.Labels) {
			continue
		}
		selected = true
		if len(a.Interfaces) == 0 {
			ok, all = true, true
			continue
		}
		for _, name := range a.Interfaces {
			wanted = append(wanted, name)
			if slices.Contains(m.Interfaces, name) {
				ok = true
				c.interfaces = append(c.interfaces, name)
			}
		}
	}
	switch {
	case !selected:
		return candidate{}, "its labels match no node selector of the L2Advertisements " + names(advs)
	case !ok:
		slices.Sort(wanted)
		return candidate{}, fmt.Sprintf("it has none of the interfaces %v the L2Advertisements ask for", slices.Compact(wanted))
	}
	if all {
		c.interfaces = nil
	}
	return c, ""
}

// names lists advertisements' names.
func names(advs []*model.L2Advertisement) string {
	out := make([]string, len(advs))
	for i, a := range advs {
		out[i] = a.Name
	}
	return fmt.Sprintf("%q", out)
}
