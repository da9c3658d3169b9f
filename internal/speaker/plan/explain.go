package plan

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/model"
)

// NodeVerdict is one node's part in announcing one address.
type NodeVerdict struct {
	Node string `json:"node"`
	// Eligible: the node may announce the address (L2: it is a candidate
	// of the election; BGP: it has a route for it).
	Eligible bool `json:"eligible"`
	// Announces: the node announces the address (L2: it is the elected
	// owner; BGP: it advertises a route and does not yield it).
	Announces bool `json:"announces"`
	// Why says it in plain words.
	Why string `json:"why"`
}

// AddressVerdict explains how one address of a Service is announced in
// one mode.
type AddressVerdict struct {
	IP netip.Addr `json:"ip"`
	// Reason is why nobody announces the address, "" when somebody does.
	Reason Reason `json:"reason,omitempty"`
	// Why says Reason in plain words.
	Why string `json:"why,omitempty"`
	// Nodes are every node's verdicts, by name; empty when the address is
	// not meant for this mode (no pool or no advertisement).
	Nodes []NodeVerdict `json:"nodes,omitempty"`
}

// ExplainL2 explains each address of the Service in L2 mode: which nodes
// may answer for it and why the others may not, and which node is
// elected. It runs the same decisions as L2 (the same advertisements,
// candidates and election), so its answer is what the speakers do with
// the same inputs. Nodes that are not members are reported as having no
// live speaker.
func ExplainL2(in L2Input, key types.NamespacedName) []AddressVerdict {
	return ExplainL2Plan(in, L2(in), key)
}

// ExplainL2Plan is ExplainL2 with the plan of in already computed, for
// callers explaining many Services.
func ExplainL2Plan(in L2Input, p L2Plan, key types.NamespacedName) []AddressVerdict {
	i := slices.IndexFunc(in.Services, func(s Service) bool { return s.Key == key })
	if i < 0 {
		return nil
	}
	s := &in.Services[i]
	var out []AddressVerdict
	for _, ip := range s.IPs {
		out = append(out, explainL2Address(in, p, s, ip))
	}
	return out
}

func explainL2Address(in L2Input, p L2Plan, s *Service, ip netip.Addr) AddressVerdict {
	v := AddressVerdict{IP: ip}
	pool := in.Config.PoolFor(ip)
	if pool == nil {
		v.Reason, v.Why = ReasonNoPool, "the address is in no pool"
		return v
	}
	advs := l2Advertisements(in.Config, pool, s)
	if len(advs) == 0 {
		v.Reason, v.Why = ReasonNoAdvertisement, fmt.Sprintf("no L2Advertisement covers pool %q and selects the Service", pool.Name)
		return v
	}
	owner := ""
	for _, a := range p.Announcements {
		if a.IP == ip && slices.Contains(a.Services, s.Key) {
			owner = a.Node
		}
	}
	for _, sk := range p.Skipped {
		if sk.IP == ip && sk.Service == s.Key {
			v.Reason, v.Why = sk.Reason, skipText(sk.Reason, s)
		}
	}
	members := map[string]Member{}
	for _, m := range in.Members {
		members[m.Name] = m
	}
	u, _ := l2Use(in, s, ip) // the best fit any candidate has (u.top)
	for _, name := range nodeNames(in.Nodes, members) {
		nv := NodeVerdict{Node: name}
		m, live := members[name]
		c, why := memberCandidate(in.Nodes, &m, s, advs, ip)
		switch {
		case !live:
			nv.Why = "no live speaker on it"
		case !s.AnyReady:
			nv.Why = "the Service has no ready endpoint"
		case why != "":
			nv.Why = why
		case name == owner:
			nv.Eligible, nv.Announces, nv.Why = true, true, "elected: it answers for the address"
		case !c.legacy && c.level < u.top && u.top == levelSubnet:
			nv.Why = "not on the address's subnet, and other nodes are"
		case !c.legacy && c.level < u.top:
			nv.Why = "no address of the address's family, and other nodes have one"
		case owner != "" && in.Nodes[name].Cordoned && !in.Nodes[owner].Cordoned:
			nv.Eligible, nv.Why = true, fmt.Sprintf("cordoned: it leaves the address to %s, which is not", owner)
		case owner != "":
			nv.Eligible, nv.Why = true, fmt.Sprintf("eligible, but %s is elected", owner)
		default:
			nv.Eligible, nv.Why = true, "eligible, but the addresses linked to this one (dual-stack or shared) have no common node"
		}
		v.Nodes = append(v.Nodes, nv)
	}
	return v
}

// ExplainBGP explains each address of the Service in BGP mode: which
// nodes advertise it, to which peers, and why the other nodes do not. It
// runs BGPRoutes's decisions node by node, with the same yielding of
// cordoned nodes as BGPAnnouncers.
func ExplainBGP(cfg *model.Config, nodes []Node, s *Service) []AddressVerdict {
	byName := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	sorted := slices.SortedFunc(maps.Values(byName), func(x, y Node) int { return cmp.Compare(x.Name, y.Name) })
	var out []AddressVerdict
	for _, ip := range s.IPs {
		v := AddressVerdict{IP: ip}
		// Whether the address is meant for BGP does not depend on the node.
		if _, reason, why := bgpRoutesFor(cfg, Node{}, nil, s, ip); reason == ReasonNoPool || reason == ReasonNoAdvertisement {
			v.Reason, v.Why = reason, why
			out = append(out, v)
			continue
		}
		announced := false
		for _, n := range sorted {
			routes, _, why := bgpRoutesFor(cfg, n, SessionPeers(cfg, n), s, ip)
			nv := NodeVerdict{Node: n.Name, Why: why}
			if len(routes) > 0 {
				nv.Eligible = true
				if YieldsToUncordoned(cfg, n, s, byName) {
					nv.Why = "cordoned: it leaves the Service to nodes that are not"
				} else {
					nv.Announces, announced = true, true
					nv.Why = routesText(routes)
				}
			}
			v.Nodes = append(v.Nodes, nv)
		}
		if v.Reason == "" && !announced {
			v.Reason, v.Why = ReasonNoCandidate, "no node can advertise it"
			if !s.AnyReady {
				v.Reason, v.Why = ReasonNoEndpoints, skipText(ReasonNoEndpoints, s)
			}
		}
		out = append(out, v)
	}
	return out
}

// routesText describes a node's routes for one address.
func routesText(routes []Route) string {
	var parts []string
	for _, r := range routes {
		parts = append(parts, fmt.Sprintf("advertises %s to %s (BGPAdvertisement %q)", r.Prefix, strings.Join(r.Peers, ", "), r.Advertisement))
	}
	return strings.Join(parts, "; ")
}

// skipText says a Reason in plain words.
func skipText(r Reason, s *Service) string {
	switch r {
	case ReasonNoPool:
		return "the address is in no pool"
	case ReasonNoAdvertisement:
		return "no advertisement covers the address's pool and selects the Service"
	case ReasonNoEndpoints:
		if s.Local && s.AnyReady {
			return "no node that may announce it hosts a ready endpoint (externalTrafficPolicy Local)"
		}
		return "the Service has no ready endpoint"
	case ReasonNoCandidate:
		return "no node may announce it"
	}
	return string(r)
}

// nodeNames returns the names of the nodes and the members, sorted.
func nodeNames(nodes map[string]Node, members map[string]Member) []string {
	set := map[string]bool{}
	for n := range nodes {
		set[n] = true
	}
	for n := range members {
		set[n] = true
	}
	return slices.Sorted(maps.Keys(set))
}
