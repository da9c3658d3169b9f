// Package model turns Pylon's API objects into one validated, immutable
// configuration. From is the only place where cross-object rules are
// checked (overlapping pools, unknown references, BGP timer rules); the
// rest of Pylon trusts its result and never re-validates.
//
// From is pure: the same objects in any order give the same Config or the
// same sorted list of errors, each naming the object, the field and the
// problem.
package model

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
)

// Objects is everything a configuration is built from. Secrets are only
// needed to resolve BGPPeer password secrets.
type Objects struct {
	Pools             []v1beta1.IPAddressPool
	L2Advertisements  []v1beta1.L2Advertisement
	BGPAdvertisements []v1beta1.BGPAdvertisement
	Peers             []v1beta1.BGPPeer
	BFDProfiles       []v1beta1.BFDProfile
	Communities       []v1beta1.Community
	Secrets           []corev1.Secret
}

// Config is a validated configuration. Every slice is sorted by name.
type Config struct {
	Pools             []*Pool
	L2Advertisements  []*L2Advertisement
	BGPAdvertisements []*BGPAdvertisement
	Peers             []*Peer
	BFDProfiles       []*BFDProfile
}

// Pool is a validated IPAddressPool.
type Pool struct {
	Name          string
	Labels        map[string]string
	Ranges        []ipam.Range // sorted, non-overlapping
	AutoAssign    bool
	AvoidBuggyIPs bool
	Allocation    *Allocation // nil without serviceAllocation
}

// Allocation is a validated serviceAllocation.
type Allocation struct {
	Priority           int
	Namespaces         []string
	NamespaceSelectors Selectors
	ServiceSelectors   Selectors
}

// L2Advertisement is a validated L2Advertisement with its pool references
// resolved to names.
type L2Advertisement struct {
	Name             string
	Pools            []string // sorted names of the covered pools
	NodeSelectors    Selectors
	Interfaces       []string // empty: every usable interface
	ServiceSelectors Selectors
	Placement        Placement
}

// BGPAdvertisement is a validated BGPAdvertisement with pools, peers and
// community aliases resolved.
type BGPAdvertisement struct {
	Name                string
	Pools               []string // sorted names of the covered pools
	AggregationLength   int
	AggregationLengthV6 int
	LocalPref           uint32
	Communities         []uint32         // standard communities, sorted
	LargeCommunities    []LargeCommunity // sorted
	NodeSelectors       Selectors
	Peers               []string // sorted peer names; empty: all peers
	ServiceSelectors    Selectors
	// WeightByEndpoints weights this node's path by its ready local
	// endpoints (Services with externalTrafficPolicy Local only).
	WeightByEndpoints bool
}

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	GlobalAdmin, LocalData1, LocalData2 uint32
}

// DynamicASN says how a peer's ASN is learnt when it is not configured.
type DynamicASN int

// Dynamic ASN modes.
const (
	DynamicASNNone DynamicASN = iota
	DynamicASNInternal
	DynamicASNExternal
)

// Peer is a validated BGPPeer.
type Peer struct {
	Name       string
	MyASN      uint32
	PeerASN    uint32 // 0 with a dynamic ASN
	DynamicASN DynamicASN
	Address    netip.Addr // invalid for an unnumbered session (Interface)
	// Interface, when set, names the node interface of an unnumbered
	// session: the router is its only IPv6 link-local neighbour.
	Interface       string
	SourceAddress   netip.Addr // invalid when unset
	Port            uint16
	HoldTime        time.Duration
	KeepaliveTime   time.Duration
	ConnectTime     time.Duration
	RouterID        netip.Addr // invalid when unset: the node's IPv4 is used
	NodeSelectors   Selectors
	Password        string // resolved from password or passwordSecret
	BFDProfile      *BFDProfile
	EBGPMultiHop    bool
	GracefulRestart bool
	// LocalASN, when not 0, is the ASN the session presents instead of
	// MyASN (eBGP only).
	LocalASN uint32
	// DualStack carries both families over the session; otherwise it
	// carries only the prefixes of its own family.
	DualStack bool
}

// SessionASN is the ASN the session presents to the router: LocalASN when
// set, else MyASN.
func (p *Peer) SessionASN() uint32 {
	if p.LocalASN != 0 {
		return p.LocalASN
	}
	return p.MyASN
}

// BFDProfile is a validated BFDProfile with defaults applied.
type BFDProfile struct {
	Name             string
	ReceiveInterval  time.Duration
	TransmitInterval time.Duration
	DetectMultiplier uint8
	PassiveMode      bool
	MinimumTTL       uint8
}

// From converts and validates the objects. On any problem it returns nil and
// an Errors value listing every problem found.
func From(in Objects) (*Config, error) {
	c := &collector{}
	cfg := &Config{}
	cfg.Pools = convertPools(c, in.Pools)
	aliases := convertCommunities(c, in.Communities)
	cfg.BFDProfiles = convertBFDProfiles(c, in.BFDProfiles)
	cfg.Peers = convertPeers(c, in.Peers, cfg.BFDProfiles, in.Secrets)
	cfg.L2Advertisements = convertL2Advertisements(c, in.L2Advertisements, in.Pools)
	cfg.BGPAdvertisements = convertBGPAdvertisements(c, in.BGPAdvertisements, bgpRefs{
		pools: in.Pools, converted: cfg.Pools, peers: cfg.Peers, aliases: aliases,
	})
	if err := c.result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Pool returns the pool with this name, or nil.
func (cfg *Config) Pool(name string) *Pool {
	i, ok := slices.BinarySearchFunc(cfg.Pools, name, func(p *Pool, n string) int { return cmp.Compare(p.Name, n) })
	if !ok {
		return nil
	}
	return cfg.Pools[i]
}

// PoolFor returns the pool that contains the address, or nil.
func (cfg *Config) PoolFor(a netip.Addr) *Pool {
	for _, p := range cfg.Pools {
		if p.Contains(a) {
			return p
		}
	}
	return nil
}

// Contains reports whether the address is in the pool.
func (p *Pool) Contains(a netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0 {
			return true
		}
	}
	return false
}

// sortedByName returns a copy of objects sorted by the name key, so that
// conversion never depends on input order.
func sortedByName[T any](in []T, name func(*T) string) []T {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(name(&a), name(&b)) })
	return out
}
