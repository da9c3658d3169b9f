package routers

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// ParseFRRNeighbors parses `show bgp neighbors json`: an object keyed by
// neighbour address. Keys that are not addresses are skipped.
func ParseFRRNeighbors(b []byte) ([]Session, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse FRR neighbors: %w", err)
	}
	var out []Session
	for key, msg := range raw {
		peer, err := netip.ParseAddr(strings.TrimPrefix(key, "*"))
		if err != nil {
			continue
		}
		var n struct {
			BGPState string `json:"bgpState"`
			RemoteAS uint32 `json:"remoteAs"`
		}
		if err := json.Unmarshal(msg, &n); err != nil {
			return nil, fmt.Errorf("parse FRR neighbor %s: %w", key, err)
		}
		out = append(out, Session{Peer: peer, State: n.BGPState, RemoteAS: n.RemoteAS})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer.Less(out[j].Peer) })
	return out, nil
}

type frrNexthop struct {
	IP    string `json:"ip"`
	Scope string `json:"scope"`
}

type frrTablePath struct {
	Best      bool         `json:"bestpath"`
	Multipath bool         `json:"multipath"`
	PeerID    string       `json:"peerId"`
	Path      string       `json:"path"`
	LocPrf    uint32       `json:"locPrf"`
	Nexthops  []frrNexthop `json:"nexthops"`
}

// ParseFRRTable parses `show bgp ipv4|ipv6 unicast json` into one Route
// per path, sorted by prefix then peer.
func ParseFRRTable(b []byte) ([]Route, error) {
	var t struct {
		Routes map[string][]frrTablePath `json:"routes"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse FRR table: %w", err)
	}
	var out []Route
	for key, paths := range t.Routes {
		pfx, err := parsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("parse FRR table: prefix %q: %w", key, err)
		}
		for _, p := range paths {
			peer, _ := netip.ParseAddr(p.PeerID)
			out = append(out, Route{Prefix: pfx, NextHop: globalNexthop(p.Nexthops), LinkLocalNextHop: linkLocalNexthop(p.Nexthops), Peer: peer, From: p.PeerID,
				Best: p.Best, Multipath: p.Multipath, ASPath: p.Path, LocalPref: p.LocPrf})
		}
	}
	sortRoutes(out)
	return out, nil
}

// globalNexthop returns the first next hop that is not link-local.
func globalNexthop(nhs []frrNexthop) netip.Addr {
	for _, nh := range nhs {
		a, err := netip.ParseAddr(nh.IP)
		if err == nil && !a.IsLinkLocalUnicast() {
			return a
		}
	}
	return netip.Addr{}
}

// linkLocalNexthop returns the first link-local next hop.
func linkLocalNexthop(nhs []frrNexthop) netip.Addr {
	for _, nh := range nhs {
		a, err := netip.ParseAddr(nh.IP)
		if err == nil && a.IsLinkLocalUnicast() {
			return a
		}
	}
	return netip.Addr{}
}

// ParseFRRPrefix parses `show bgp ipv4|ipv6 unicast PREFIX json`, which
// carries every attribute of every path.
func ParseFRRPrefix(b []byte) ([]Route, error) {
	var d struct {
		Prefix string `json:"prefix"`
		Paths  []struct {
			ASPath    struct{ String string } `json:"aspath"`
			LocPrf    uint32                  `json:"locPrf"`
			Multipath bool                    `json:"multipath"`
			Best      struct {
				Overall bool `json:"overall"`
			} `json:"bestpath"`
			Community      struct{ List []string } `json:"community"`
			LargeCommunity struct{ List []string } `json:"largeCommunity"`
			ExtCommunity   struct{ String string } `json:"extendedCommunity"`
			Nexthops       []frrNexthop            `json:"nexthops"`
			Peer           struct {
				PeerID string `json:"peerId"`
			} `json:"peer"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parse FRR prefix: %w", err)
	}
	if d.Prefix == "" {
		return nil, nil // "% Network not in table" comes back as {}
	}
	pfx, err := parsePrefix(d.Prefix)
	if err != nil {
		return nil, fmt.Errorf("parse FRR prefix %q: %w", d.Prefix, err)
	}
	out := make([]Route, 0, len(d.Paths))
	for _, p := range d.Paths {
		peer, _ := netip.ParseAddr(p.Peer.PeerID)
		out = append(out, Route{Prefix: pfx, NextHop: globalNexthop(p.Nexthops), LinkLocalNextHop: linkLocalNexthop(p.Nexthops), Peer: peer, From: p.Peer.PeerID,
			Best: p.Best.Overall, Multipath: p.Multipath, ASPath: p.ASPath.String, LocalPref: p.LocPrf,
			Communities: p.Community.List, LargeCommunities: p.LargeCommunity.List, ExtendedCommunities: p.ExtCommunity.String})
	}
	sortRoutes(out)
	return out, nil
}

func sortRoutes(rs []Route) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Prefix != rs[j].Prefix {
			if rs[i].Prefix.Addr() != rs[j].Prefix.Addr() {
				return rs[i].Prefix.Addr().Less(rs[j].Prefix.Addr())
			}
			return rs[i].Prefix.Bits() < rs[j].Prefix.Bits()
		}
		return rs[i].Peer.Less(rs[j].Peer)
	})
}

// ParseFRRBFDPeers parses `show bfd peers json`: an array of sessions.
func ParseFRRBFDPeers(b []byte) ([]BFDPeer, error) {
	var raw []struct {
		Peer   string `json:"peer"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse FRR BFD peers: %w", err)
	}
	out := make([]BFDPeer, 0, len(raw))
	for _, r := range raw {
		a, err := netip.ParseAddr(r.Peer)
		if err != nil {
			return nil, fmt.Errorf("parse FRR BFD peers: peer %q: %w", r.Peer, err)
		}
		out = append(out, BFDPeer{Peer: a, Status: r.Status})
	}
	return out, nil
}
