package routers

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// gobgp's client prints its API structures as JSON (`gobgp -j`), as
// gobgpd 3.10 does: these parsers read that. Unknown fields and path
// attributes are ignored.

// goBGPPeerJSON is one element of `gobgp -j neighbor`.
type goBGPPeerJSON struct {
	Conf struct {
		NeighborAddress string `json:"neighbor_address"`
		PeerASN         uint32 `json:"peer_asn"`
	} `json:"conf"`
	State struct {
		NeighborAddress string `json:"neighbor_address"`
		PeerASN         uint32 `json:"peer_asn"`
		// SessionState is gobgp's API enum, a number.
		SessionState int `json:"session_state"`
	} `json:"state"`
}

// goBGPStates names gobgp's API session states (api.PeerState_SessionState)
// as FRR and BIRD do.
var goBGPStates = []string{"Unknown", "Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"}

// ParseGoBGPNeighbors parses `gobgp -j neighbor` into sessions.
func ParseGoBGPNeighbors(b []byte) ([]Session, error) {
	var raw []goBGPPeerJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse gobgp neighbors: %w", err)
	}
	out := make([]Session, 0, len(raw))
	for _, p := range raw {
		addr := p.State.NeighborAddress
		if addr == "" {
			addr = p.Conf.NeighborAddress
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("parse gobgp neighbors: address %q: %w", addr, err)
		}
		s := Session{Peer: a, RemoteAS: p.State.PeerASN, State: "Unknown"}
		if s.RemoteAS == 0 {
			s.RemoteAS = p.Conf.PeerASN
		}
		if i := p.State.SessionState; i >= 0 && i < len(goBGPStates) {
			s.State = goBGPStates[i]
		}
		out = append(out, s)
	}
	return out, nil
}

// goBGPPathJSON is one path of `gobgp -j global rib`.
type goBGPPathJSON struct {
	Best       bool              `json:"best"`
	NeighborIP string            `json:"neighbor-ip"`
	SourceID   string            `json:"source-id"`
	Attrs      []json.RawMessage `json:"attrs"`
}

// goBGPAttrJSON holds the fields of the path attributes read here, by
// type code (RFC 4271, 1997, 4760, 8092).
type goBGPAttrJSON struct {
	Type    int             `json:"type"`
	Value   json.RawMessage `json:"value"`
	ASPaths []struct {
		ASNs []uint32 `json:"asns"`
	} `json:"as_paths"`
	NextHop     string   `json:"nexthop"`
	Communities []uint32 `json:"communities"`
}

// Path attribute type codes.
const (
	attrASPath         = 2
	attrNextHop        = 3
	attrLocalPref      = 5
	attrCommunities    = 8
	attrMPReach        = 14
	attrLargeCommunity = 32
)

// ParseGoBGPRib parses `gobgp -j global rib -a FAMILY` (prefix → paths)
// into one Route per path. Routes are sorted by prefix; a prefix's paths
// keep gobgp's order (best first).
func ParseGoBGPRib(b []byte) ([]Route, error) {
	var raw map[string][]goBGPPathJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse gobgp rib: %w", err)
	}
	var out []Route
	for key, paths := range raw {
		p, err := parsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("parse gobgp rib: prefix %q: %w", key, err)
		}
		for _, path := range paths {
			r, err := goBGPRoute(p, path)
			if err != nil {
				return nil, fmt.Errorf("parse gobgp rib: %s: %w", p, err)
			}
			out = append(out, r)
		}
	}
	sortRoutes(out)
	return out, nil
}

func goBGPRoute(p netip.Prefix, path goBGPPathJSON) (Route, error) {
	r := Route{Prefix: p, Best: path.Best, From: path.NeighborIP}
	r.Peer, _ = netip.ParseAddr(path.NeighborIP) // local paths: "<nil>"
	for _, b := range path.Attrs {
		var a goBGPAttrJSON
		if err := json.Unmarshal(b, &a); err != nil {
			return r, fmt.Errorf("attribute %s: %w", b, err)
		}
		if err := goBGPAttr(&r, a); err != nil {
			return r, err
		}
	}
	return r, nil
}

// goBGPAttr applies one path attribute to r.
func goBGPAttr(r *Route, a goBGPAttrJSON) error {
	switch a.Type {
	case attrASPath:
		var asns []string
		for _, seg := range a.ASPaths {
			for _, n := range seg.ASNs {
				asns = append(asns, strconv.FormatUint(uint64(n), 10))
			}
		}
		r.ASPath = strings.Join(asns, " ")
	case attrNextHop, attrMPReach:
		if nh, err := netip.ParseAddr(a.NextHop); err == nil {
			r.NextHop = nh
		}
	case attrLocalPref:
		return json.Unmarshal(a.Value, &r.LocalPref)
	case attrCommunities:
		for _, c := range a.Communities {
			r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
		}
	case attrLargeCommunity:
		var ls []struct {
			ASN, LocalData1, LocalData2 uint32 // gobgp prints these Go names
		}
		if err := json.Unmarshal(a.Value, &ls); err != nil {
			return fmt.Errorf("large communities %s: %w", a.Value, err)
		}
		for _, l := range ls {
			r.LargeCommunities = append(r.LargeCommunities, fmt.Sprintf("%d:%d:%d", l.ASN, l.LocalData1, l.LocalData2))
		}
	}
	return nil
}
