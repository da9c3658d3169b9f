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
	// OffSubnet is true when the owner has no allowed interface on the
	// address's subnet (no node has, or none that every linked address
	// can live on): it answers on its allowed interfaces as on any
	// segment, which clients reach only if the network routes or
	// proxies the address to that segment.
	OffSubnet bool
}

// L2Plan is the cluster-wide L2 decision.
type L2Plan struct {
	// Announcements are sorted by address.
	Announcements []L2Announcement
	// Skipped lists addresses not announced, sorted by Service and address.
	Skipped []Skipped
}

// How well a candidate fits an address, best last. A node is elected
// among the candidates of the best level any node reaches; a speaker that
// publishes no addresses (legacy) counts at every level.
const (
	// levelOther: no allowed interface has an address of the family.
	levelOther int8 = iota
	// levelFamily: an allowed interface has the family, none is on the
	// address's subnet.
	levelFamily
	// levelSubnet: an allowed interface is on the address's subnet.
	levelSubnet
)

// candidate is a node able to answer for one (Service, address) pair.
type candidate struct {
	node    string
	allowed []string // interfaces the advertisements allow; nil: every usable one
	// onSubnet has bit k set when the member's interface Addrs[k] is
	// allowed and on the address's subnet (the first 64 interfaces;
	// peers publish at most 16). Names are only built for owners.
	onSubnet uint64
	member   *Member
	level    int8
	legacy   bool // the member publishes no addresses
}

// answersOn returns the interfaces the candidate answers on once elected:
// those on the address's subnet when it has some, else every allowed one
// (nil: every usable interface of the address's family).
func (c candidate) answersOn() []string {
	if c.onSubnet == 0 {
		return c.allowed
	}
	var out []string
	for k, i := range c.member.Addrs[:min(len(c.member.Addrs), 64)] {
		if c.onSubnet&(1<<k) != 0 {
			out = append(out, i.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// offSubnet reports whether the candidate is known not to be on the
// address's subnet.
func (c candidate) offSubnet() bool { return !c.legacy && c.level < levelSubnet }

// fits reports whether the candidate is at level floor or better.
func (c candidate) fits(floor int8) bool { return c.legacy || c.level >= floor }

// use is one Service using one address, with its candidates.
type use struct {
	svc        *Service
	ip         netip.Addr
	candidates []candidate // sorted by node
	placement  model.Placement
	// top and low are the best and worst levels of the candidates that
	// publish their addresses (levelSubnet when none does).
	top, low int8
}

// L2 computes the owner of every announceable address. Addresses that are
// linked (a dual-stack Service's two addresses, an address shared by
// several Services) form a group that lands on one node, among the nodes
// every use in the group can live on: the winner of the group's key
// (rendezvous hashing, placement Hash), or, for the groups whose
// advertisements ask for placement Balanced, the node election.Balance
// gives it when it places all those groups together under its load bound.
//
// The nodes a group can live on are those with an allowed interface on
// each address's subnet (the owner answers on those interfaces only);
// when no node is on an address's subnet, those with an address of its
// family on an allowed interface; when none has, every node, as before
// subnets were known (the announcement is then marked OffSubnet). See
// placed.
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
			out.record(pg, pg.hashOwner(), byIP)
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
//
// common are the nodes every use of the group can live on at the best
// level each use reaches (or, when no node fits them all, at the family
// level, then at any level); all are those at any level. Both prefer
// uncordoned nodes.
//
// A speaker of an earlier version (legacy, publishing no addresses)
// elects among all. Since it counts at every level, it is in common
// whenever it is in all, so when it wins all it wins common too, and the
// speakers agree. When a legacy node wins common but not all, it believes
// the winner of all answers: hashOwner then picks that winner too, so
// exactly one node answers during a rolling update. (Placement Balanced
// weighs every group against the others and has no such guarantee while
// versions mix.)
type placed struct {
	g         election.Group
	common    []string
	all       []string
	legacy    map[string]bool
	placement model.Placement
}

// hashOwner elects the group's owner by rendezvous hashing among common,
// or among all when that owner is a legacy speaker (see placed).
func (pg placed) hashOwner() string {
	owner, _ := election.Winner(pg.g.Key, pg.common)
	if pg.legacy[owner] {
		owner, _ = election.Winner(pg.g.Key, pg.all)
	}
	return owner
}

// candidates finds the nodes a group may land on (see placed) and its
// placement: Balanced when any use asks for it. A group nobody can
// announce is reported as skipped.
func (p *L2Plan) candidates(g election.Group, byIP map[netip.Addr][]*use, nodes map[string]Node) (placed, bool) {
	var groupUses []*use
	for _, ip := range g.Members {
		groupUses = append(groupUses, byIP[ip]...)
	}
	if len(groupUses) == 0 {
		return placed{}, false
	}
	all := commonNodes(groupUses)
	best := all
	for _, floor := range []int8{levelSubnet, levelFamily} {
		if c := fitting(all, groupUses, floor); len(c) > 0 {
			best = c
			break
		}
	}
	pg := placed{g: g, common: preferUncordoned(best, nodes), all: preferUncordoned(all, nodes)}
	for _, c := range groupUses[0].candidates {
		if c.legacy {
			if pg.legacy == nil {
				pg.legacy = map[string]bool{}
			}
			pg.legacy[c.node] = true
		}
	}
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
		i, _ := u.find(owner)
		c := u.candidates[i]
		a.OffSubnet = a.OffSubnet || c.offSubnet()
		if ifs := c.answersOn(); ifs == nil {
			all = true
		} else {
			a.Interfaces = append(a.Interfaces, ifs...)
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
	cordoned := func(n string) bool { return nodes[n].Cordoned }
	if !slices.ContainsFunc(candidates, cordoned) {
		return candidates
	}
	out := slices.DeleteFunc(slices.Clone(candidates), cordoned)
	if len(out) == 0 {
		return candidates
	}
	return out
}

// commonNodes returns the nodes that are candidates for every use.
func commonNodes(uses []*use) []string {
	out := make([]string, 0, len(uses[0].candidates))
	for _, c := range uses[0].candidates {
		inAll := true
		for _, u := range uses[1:] {
			if _, ok := u.find(c.node); !ok {
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

// fitting returns the nodes of common (candidates of every use) that fit
// each use at the best level the use reaches or at floor, whichever is
// lower: common itself when all do.
func fitting(common []string, uses []*use, floor int8) []string {
	if !slices.ContainsFunc(uses, func(u *use) bool { return u.low < min(u.top, floor) }) {
		return common // the usual case: every candidate fits
	}
	fits := func(n string) bool {
		for _, u := range uses {
			if i, _ := u.find(n); !u.candidates[i].fits(min(u.top, floor)) {
				return false
			}
		}
		return true
	}
	for k, n := range common {
		if !fits(n) {
			out := slices.Clone(common[:k])
			for _, n := range common[k+1:] {
				if fits(n) {
					out = append(out, n)
				}
			}
			return out
		}
	}
	return common
}

// find returns the index of node's candidate.
func (u *use) find(node string) (int, bool) {
	return slices.BinarySearchFunc(u.candidates, node, func(c candidate, n string) int { return cmp.Compare(c.node, n) })
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
	u.top, u.low = levelOther, levelSubnet
	u.candidates = make([]candidate, 0, len(in.Members))
	known := false
	for k := range in.Members {
		if c, why := memberCandidate(in.Nodes, &in.Members[k], s, advs, ip); why == "" {
			u.candidates = append(u.candidates, c)
			if !c.legacy {
				u.top, u.low, known = max(u.top, c.level), min(u.low, c.level), true
			}
		}
	}
	if !known {
		u.top = levelSubnet
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

// memberCandidate decides whether a member can answer for a Service's
// address ip under the matching advertisements, on which interfaces, and
// how well it fits ip; when it cannot, it says why in plain words.
func memberCandidate(nodes map[string]Node, m *Member, s *Service, advs []*model.L2Advertisement, ip netip.Addr) (candidate, string) {
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
				c.allowed = append(c.allowed, name)
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
		c.allowed = nil
	}
	if ok {
		c.fit(m, ip)
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

// fit sets the candidate's level for ip and its allowed interfaces on
// ip's subnet, from the member's published addresses.
func (c *candidate) fit(m *Member, ip netip.Addr) {
	if !m.AddrsKnown {
		c.legacy, c.level = true, levelSubnet
		return
	}
	c.member, c.level = m, levelOther
	for k, i := range m.Addrs[:min(len(m.Addrs), 64)] {
		if c.allowed != nil && !slices.Contains(c.allowed, i.Name) {
			continue
		}
		if ip.Is4() && i.IPv4 || ip.Is6() && i.IPv6 {
			c.level = max(c.level, levelFamily)
		}
		for _, p := range i.Prefixes {
			if p.Contains(ip) {
				c.level = levelSubnet
				c.onSubnet |= 1 << k
				break
			}
		}
	}
}
