package speaker

import (
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// Event reasons on Services for BGP mode.
const (
	ReasonBGPAnnounced     = "BGPAnnounced"
	ReasonBGPWithdrawn     = "BGPWithdrawn"
	ReasonBGPLocalPrefConf = "BGPLocalPrefConflict"
	ReasonBGPWeightConf    = "BGPWeightConflict"
)

// bgpReconciler computes, purely, the paths this node should announce and
// the sessions it should have, and hands both whole to the router, which
// diffs them against what it announces (the only table of what is
// announced). It also reports (events, ServiceBGPStatus).
type bgpReconciler struct {
	cfg     *Config
	view    *view
	metrics *metrics
	log     *slog.Logger
	routers *routerSupervisor

	router          *runningRouter // nil until this node first has sessions
	publishSessions func([]bgp.SessionState)
	// routes are the desired routes per Service; byPrefix the Services
	// contributing to each prefix; desired the merged path of each prefix
	// (recomputed only for the prefixes a change touches).
	routes map[types.NamespacedName][]plan.Route
	// since is when this speaker began announcing each Service's current
	// prefixes (reported in the status).
	since     map[types.NamespacedName]time.Time
	byPrefix  map[netip.Prefix]map[types.NamespacedName]bool
	desired   map[netip.Prefix]bgp.Path
	conflicts map[netip.Prefix][]string // localPref conflicts last reported
	// weightConflicts are the weightByEndpoints conflicts last reported.
	weightConflicts map[netip.Prefix][]string
	// pathsDirty and peersDirty: the router must be given the paths or
	// the sessions again (they changed, a new router started, or the last
	// call failed).
	pathsDirty, peersDirty bool

	status     *v1beta1.ServiceBGPStatusStatus // last written
	statusNext time.Time                       // no rebuild before (see writeStatus)
	statusTime deadline                        // wakes the loop for a deferred rebuild

	reported map[types.NamespacedName]plan.BGPAnnouncement // per Service, what report last saw
	seeded   bool                                          // report has seen every Service once
	nodesSig string                                        // plan-relevant Node data at the last report
}

// newBGPReconciler returns a reconciler with nothing announced.
func newBGPReconciler(cfg *Config, v *view, m *metrics, routers *routerSupervisor) *bgpReconciler {
	return &bgpReconciler{
		cfg: cfg, view: v, metrics: m, log: cfg.Logger, routers: routers,
		routes:          map[types.NamespacedName][]plan.Route{},
		since:           map[types.NamespacedName]time.Time{},
		byPrefix:        map[netip.Prefix]map[types.NamespacedName]bool{},
		desired:         map[netip.Prefix]bgp.Path{},
		conflicts:       map[netip.Prefix][]string{},
		weightConflicts: map[netip.Prefix][]string{},
		reported:        map[types.NamespacedName]plan.BGPAnnouncement{},
	}
}

// sync brings the routes and sessions in line with the changes: routes
// are recomputed for the changed Services, or all of them when the
// configuration or this node changed (a cordoned node's routes depend on
// the other nodes too); then it reports (once the speaker is open) and
// writes the status.
func (b *bgpReconciler) sync(ch changes, open bool) {
	all := ch.config || ch.self || (b.view.self.Cordoned && ch.nodes)
	b.apply(all, ch.services)
	b.report(ch, open)
	if b.router != nil && b.publishSessions != nil {
		b.publishSessions(b.router.Sessions())
	}
	b.forgetNodes(ch.goneNodes)
	b.writeStatus()
}

// apply recomputes the desired routes and hands paths and sessions to the
// router.
func (b *bgpReconciler) apply(all bool, changed []types.NamespacedName) {
	sessions := plan.SessionPeers(b.view.config, b.view.self)
	if all || b.router == nil {
		if err := b.ensureRouter(sessions); err != nil {
			b.log.Error("start BGP", "error", err)
			return
		}
	}
	if b.router == nil {
		return
	}
	if all {
		changed = slices.SortedFunc(maps.Keys(unionKeys(b.view.services, b.routes)), plan.CompareKeys)
	}
	affected := map[netip.Prefix]bool{}
	for _, key := range changed {
		b.recomputeRoutes(key, sessions, affected)
	}
	for _, prefix := range slices.SortedFunc(maps.Keys(affected), comparePrefix) {
		b.mergePrefix(prefix)
	}
	b.metrics.bgpPrefixes.Set(float64(len(b.desired)))
	// Paths go in before sessions change: a new session (and one coming
	// back after a graceful restart) then starts with the full table.
	if b.pathsDirty {
		ch, err := b.router.SetPaths(b.router.ctx, slices.Collect(maps.Values(b.desired)))
		b.metrics.bgpUpdates.WithLabelValues("announce").Add(float64(ch.Announced))
		b.metrics.bgpUpdates.WithLabelValues("withdraw").Add(float64(ch.Withdrawn))
		if err != nil {
			b.log.Error("announce prefixes", "error", err)
		} else {
			b.pathsDirty = false
		}
	}
	if all || b.peersDirty {
		if err := b.router.SetPeers(b.router.ctx, b.peerConfigs(sessions)); err != nil {
			b.log.Error("configure BGP sessions", "error", err)
			b.peersDirty = true
		} else {
			b.peersDirty = false
		}
	}
}

// ensureRouter has the supervisor run a router with the right ID once this
// node has sessions (and from then on); a new router gets everything.
func (b *bgpReconciler) ensureRouter(sessions []*model.Peer) error {
	if len(sessions) == 0 && b.router == nil {
		return nil
	}
	id, err := b.routerID(sessions)
	if err != nil {
		return err
	}
	r, err := b.routers.Ensure(id)
	if err != nil {
		return err
	}
	if r != b.router {
		b.router, b.pathsDirty, b.peersDirty = r, true, true
	}
	return nil
}

// recomputeRoutes refreshes one Service's routes and marks the prefixes
// whose contributions changed.
func (b *bgpReconciler) recomputeRoutes(key types.NamespacedName, sessions []*model.Peer, affected map[netip.Prefix]bool) {
	var routes []plan.Route
	if s, ok := b.view.services[key]; ok {
		// Not announcing from some nodes is normal (node selectors,
		// Local policy): the reasons are not reported.
		routes, _ = plan.BGPRoutes(b.view.config, b.view.self, sessions, &s)
		if len(routes) > 0 && plan.YieldsToUncordoned(b.view.config, b.view.self, &s, b.view.nodes) {
			routes = nil
		}
	}
	old := b.routes[key]
	if reflect.DeepEqual(old, routes) {
		return
	}
	for _, r := range old {
		affected[r.Prefix] = true
		delete(b.byPrefix[r.Prefix], key)
	}
	for _, r := range routes {
		affected[r.Prefix] = true
		if b.byPrefix[r.Prefix] == nil {
			b.byPrefix[r.Prefix] = map[types.NamespacedName]bool{}
		}
		b.byPrefix[r.Prefix][key] = true
	}
	if len(routes) == 0 {
		delete(b.routes, key)
		delete(b.since, key)
	} else {
		if !slices.Equal(routePrefixes(old), routePrefixes(routes)) {
			b.since[key] = b.cfg.Clock.Now()
		}
		b.routes[key] = routes
	}
}

// routePrefixes returns the routes' prefixes, sorted.
func routePrefixes(rs []plan.Route) []netip.Prefix {
	out := make([]netip.Prefix, len(rs))
	for i, r := range rs {
		out[i] = r.Prefix
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}

// mergePrefix recomputes the desired path of one prefix from the routes
// contributing to it.
func (b *bgpReconciler) mergePrefix(prefix netip.Prefix) {
	b.pathsDirty = true
	var contrib []plan.Route
	for key := range b.byPrefix[prefix] {
		for _, r := range b.routes[key] {
			if r.Prefix == prefix {
				contrib = append(contrib, r)
			}
		}
	}
	if len(contrib) == 0 {
		delete(b.byPrefix, prefix)
		delete(b.desired, prefix)
		delete(b.conflicts, prefix)
		delete(b.weightConflicts, prefix)
		return
	}
	merged := plan.Merge(prefix, contrib)
	b.reportConflict(prefix, merged)
	b.reportWeightConflict(prefix, merged)
	b.desired[prefix] = toBGPPath(merged)
}

// routerID is the router ID the peers agree on, or this node's IPv4.
func (b *bgpReconciler) routerID(sessions []*model.Peer) (netip.Addr, error) {
	var id netip.Addr
	for _, p := range sessions {
		if !p.RouterID.IsValid() {
			continue
		}
		if id.IsValid() && id != p.RouterID {
			return netip.Addr{}, fmt.Errorf("BGPPeers selecting node %s ask for different router IDs (%s, %s); one router ID is used for all sessions", b.cfg.NodeName, id, p.RouterID)
		}
		id = p.RouterID
	}
	if !id.IsValid() {
		id = b.view.selfV4
	}
	if !id.IsValid() {
		return netip.Addr{}, fmt.Errorf("node %s has no IPv4 internal address to use as BGP router ID; set routerID on its BGPPeers", b.cfg.NodeName)
	}
	return id, nil
}

// peerConfigs converts the sessions of this node. A session carries the
// prefixes of its own family; with DualStack also the other family's, with
// this node's address of that family as next hop. An unnumbered session
// (Interface) always carries both, with this node's link-local address as
// next hop. The ASN it presents is LocalASN when set. A node without the
// interface of an unnumbered session keeps it waiting, reported Idle with
// the reason in its ServiceBGPStatus.
func (b *bgpReconciler) peerConfigs(sessions []*model.Peer) []bgp.PeerConfig {
	out := make([]bgp.PeerConfig, 0, len(sessions))
	for _, p := range sessions {
		pc := bgp.PeerConfig{
			Name: p.Name, MyASN: p.SessionASN(), PeerASN: p.PeerASN, DynamicASN: dynamicASN(p.DynamicASN),
			Address: p.Address, Interface: p.Interface, Port: p.Port, SourceAddress: p.SourceAddress,
			HoldTime: p.HoldTime, KeepaliveTime: p.KeepaliveTime, ConnectTime: p.ConnectTime,
			EBGPMultiHop: p.EBGPMultiHop, Password: p.Password, GracefulRestart: p.GracefulRestart,
		}
		switch {
		case !p.DualStack || p.Interface != "":
		case p.Address.Is4():
			pc.IPv6NextHop = b.view.selfV6
		default:
			pc.IPv4NextHop = b.view.selfV4
		}
		if f := p.BFDProfile; f != nil {
			pc.BFD = &bgp.BFDConfig{ReceiveInterval: f.ReceiveInterval, TransmitInterval: f.TransmitInterval, DetectMultiplier: f.DetectMultiplier}
		}
		out = append(out, pc)
	}
	return out
}

// dynamicASN maps the configuration's dynamic ASN mode to the router's.
func dynamicASN(d model.DynamicASN) bgp.DynamicASN {
	switch d {
	case model.DynamicASNInternal:
		return bgp.DynamicASNInternal
	case model.DynamicASNExternal:
		return bgp.DynamicASNExternal
	default:
		return bgp.DynamicASNNone
	}
}

// reportConflict reports advertisements that disagree on localPref for
// one prefix, on every Service contributing to it, when the conflict
// appears or changes.
func (b *bgpReconciler) reportConflict(prefix netip.Prefix, p plan.Path) {
	if len(p.Conflict) == 0 {
		delete(b.conflicts, prefix)
		return
	}
	b.metrics.bgpConflicts.Inc()
	if slices.Equal(b.conflicts[prefix], p.Conflict) {
		return
	}
	b.conflicts[prefix] = p.Conflict
	for _, key := range slices.SortedFunc(maps.Keys(b.byPrefix[prefix]), plan.CompareKeys) {
		if svc := b.view.refs[key]; svc != nil {
			b.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonBGPLocalPrefConf, "Announce",
				"BGPAdvertisements %s set different localPref for %s; using %d from %s", strings.Join(p.Conflict, ", "), prefix, p.LocalPref, p.Conflict[0])
		}
	}
}

// reportWeightConflict reports, on every Service contributing to one
// prefix, that its routes mix weighted and unweighted ones (the path then
// goes out unweighted), when the conflict appears or changes.
func (b *bgpReconciler) reportWeightConflict(prefix netip.Prefix, p plan.Path) {
	if len(p.WeightConflict) == 0 {
		delete(b.weightConflicts, prefix)
		return
	}
	if slices.Equal(b.weightConflicts[prefix], p.WeightConflict) {
		return
	}
	b.weightConflicts[prefix] = p.WeightConflict
	for _, key := range slices.SortedFunc(maps.Keys(b.byPrefix[prefix]), plan.CompareKeys) {
		if svc := b.view.refs[key]; svc != nil {
			b.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonBGPWeightConf, "Announce",
				"Routes for %s from BGPAdvertisements %s mix weightByEndpoints with unweighted ones (or Cluster Services); announcing %s without link bandwidth",
				prefix, strings.Join(p.WeightConflict, ", "), prefix)
		}
	}
}

// routerChanged fires when a session's state changes (nil without a
// router).
func (b *bgpReconciler) routerChanged() <-chan struct{} {
	if b.router == nil {
		return nil
	}
	return b.router.Changed()
}

// toBGPPath converts a merged plan path.
func toBGPPath(p plan.Path) bgp.Path {
	out := bgp.Path{Prefix: p.Prefix, Peers: p.Peers, LocalPref: p.LocalPref, Communities: p.Communities,
		Weight: p.Weight, WeightAS: p.WeightAS}
	for _, l := range p.LargeCommunities {
		out.LargeCommunities = append(out.LargeCommunities, bgp.LargeCommunity{GlobalAdmin: l.GlobalAdmin, LocalData1: l.LocalData1, LocalData2: l.LocalData2})
	}
	return out
}

// comparePrefix orders prefixes.
func comparePrefix(x, y netip.Prefix) int {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return x.Bits() - y.Bits()
}
