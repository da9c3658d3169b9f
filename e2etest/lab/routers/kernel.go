package routers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// KernelRoute is one route of a namespace's main routing table.
type KernelRoute struct {
	Dst netip.Prefix
	// NextHops are the gateways, several for an ECMP route, sorted.
	// An IPv4 route may have IPv6 gateways (RFC 8950).
	NextHops []netip.Addr
	Dev      string
	// Proto is the route's origin: "bgp" (FRR's zebra), "bird", "kernel", ...
	Proto string
	// Type is "" for unicast, else "blackhole", "unreachable", ...
	Type string
	// Weights are the next hops' weights of a multipath route (nil for a
	// single next hop): the kernel shares flows between next hops in
	// proportion to them.
	Weights map[netip.Addr]int
}

type ipRoute struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Via      ipVia  `json:"via"`
	Dev      string `json:"dev"`
	Protocol string `json:"protocol"`
	Type     string `json:"type"`
	Nexthops []struct {
		Gateway string `json:"gateway"`
		Via     ipVia  `json:"via"`
		Dev     string `json:"dev"`
		Weight  int    `json:"weight"`
	} `json:"nexthops"`
}

// ipVia is a gateway of the other family ("via inet6 fe80::1" on an IPv4
// route, RFC 8950), which `ip -j` reports apart from "gateway".
type ipVia struct {
	Host string `json:"host"`
}

// gateway returns gw, or else via's host.
func (v ipVia) gateway(gw string) string {
	if gw != "" {
		return gw
	}
	return v.Host
}

// ParseIPRoutes parses `ip -j route show` output (either family).
func ParseIPRoutes(b []byte) ([]KernelRoute, error) {
	var raw []ipRoute
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse ip routes: %w", err)
	}
	out := make([]KernelRoute, 0, len(raw))
	for _, r := range raw {
		kr := KernelRoute{Dev: r.Dev, Proto: r.Protocol, Type: r.Type}
		switch r.Dst {
		case "default":
			kr.Dst = defaultRoute(r)
		default:
			p, err := parsePrefix(r.Dst)
			if err != nil {
				return nil, fmt.Errorf("parse ip routes: dst %q: %w", r.Dst, err)
			}
			kr.Dst = p
		}
		kr.NextHops = gateways(r)
		kr.Weights = weights(r)
		if kr.Dev == "" && len(r.Nexthops) > 0 {
			kr.Dev = r.Nexthops[0].Dev
		}
		out = append(out, kr)
	}
	return out, nil
}

func defaultRoute(r ipRoute) netip.Prefix {
	if a, err := netip.ParseAddr(r.Gateway); err == nil && a.Is6() {
		return netip.MustParsePrefix("::/0")
	}
	for _, nh := range r.Nexthops {
		if a, err := netip.ParseAddr(nh.Gateway); err == nil && a.Is6() {
			return netip.MustParsePrefix("::/0")
		}
	}
	return netip.MustParsePrefix("0.0.0.0/0")
}

func gateways(r ipRoute) []netip.Addr {
	var out []netip.Addr
	if a, err := netip.ParseAddr(r.Via.gateway(r.Gateway)); err == nil {
		out = append(out, a)
	}
	for _, nh := range r.Nexthops {
		if a, err := netip.ParseAddr(nh.Via.gateway(nh.Gateway)); err == nil {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// weights maps each next hop of a multipath route to its weight (1 when
// ip does not print one).
func weights(r ipRoute) map[netip.Addr]int {
	var out map[netip.Addr]int
	for _, nh := range r.Nexthops {
		a, err := netip.ParseAddr(nh.Via.gateway(nh.Gateway))
		if err != nil {
			continue
		}
		if out == nil {
			out = map[netip.Addr]int{}
		}
		out[a] = max(nh.Weight, 1)
	}
	return out
}

// KernelRoutes reads the main routing table of ns, IPv4 then IPv6.
func KernelRoutes(ctx context.Context, ns netns.NS) ([]KernelRoute, error) {
	var all []KernelRoute
	for _, fam := range []string{"-4", "-6"} {
		out, err := ns.IP(ctx, "-j", fam, "route", "show", "table", "main")
		if err != nil {
			return nil, err
		}
		rs, err := ParseIPRoutes(out)
		if err != nil {
			return nil, fmt.Errorf("routes of %s: %w", ns, err)
		}
		all = append(all, rs...)
	}
	return all, nil
}

// KernelRouteTo returns the route for exactly dst, if any.
func KernelRouteTo(rs []KernelRoute, dst netip.Prefix) (KernelRoute, bool) {
	for _, r := range rs {
		if r.Dst == dst {
			return r, true
		}
	}
	return KernelRoute{}, false
}
