package speaker

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// Event reasons on Services for BGP mode.
const (
	ReasonBGPAnnounced     = "BGPAnnounced"
	ReasonBGPWithdrawn     = "BGPWithdrawn"
	ReasonBGPLocalPrefConf = "BGPLocalPrefConflict"
)

// syncBGP brings the BGP sessions and routes in line with the
// configuration. Routes are recomputed only for the changed Services,
// unless everything changed (configuration, this node), and only changed
// prefixes are sent.
func (a *Agent) syncBGP(ctx, compCtx context.Context, wg *sync.WaitGroup, errs chan error, all bool, changed []string) {
	sessions := plan.SessionPeers(a.st.config, a.st.self)
	fresh, err := a.ensureRouter(compCtx, wg, errs, sessions)
	if err != nil {
		a.log.Error("start BGP", "error", err)
		return
	}
	all = all || fresh
	if a.st.router == nil {
		return
	}
	if all {
		changed = slices.Sorted(maps.Keys(unionKeys(a.st.services, a.st.routes)))
	}
	affected := map[netip.Prefix]bool{}
	for _, key := range changed {
		a.recomputeRoutes(key, sessions, affected)
	}
	// Paths go in before sessions change: a new session (and one coming
	// back after a graceful restart) then starts with the full table.
	for _, prefix := range slices.SortedFunc(maps.Keys(affected), comparePrefix) {
		a.applyPrefix(ctx, prefix)
	}
	a.metrics.bgpPrefixes.Set(float64(len(a.st.announced)))
	peers := a.peerConfigs(sessions)
	if !slices.EqualFunc(peers, a.st.peers, samePeer) {
		if err := a.st.router.SetPeers(ctx, peers); err != nil {
			a.log.Error("configure BGP sessions", "error", err)
			return
		}
		a.st.peers = peers
	}
}

// recomputeRoutes refreshes one Service's routes and marks the prefixes
// whose contributions changed.
func (a *Agent) recomputeRoutes(key string, sessions []*model.Peer, affected map[netip.Prefix]bool) {
	var routes []plan.Route
	if s, ok := a.st.services[key]; ok {
		// Not announcing from some nodes is normal (node selectors,
		// Local policy): the reasons are not reported.
		routes, _ = plan.BGPRoutes(a.st.config, a.st.self, sessions, &s)
		if len(routes) > 0 && plan.YieldsToUncordoned(a.st.config, a.st.self, &s, a.st.nodes) {
			routes = nil
		}
	}
	old := a.st.routes[key]
	if slices.EqualFunc(old, routes, sameRoute) {
		return
	}
	for _, r := range old {
		affected[r.Prefix] = true
		delete(a.st.byPrefix[r.Prefix], key)
	}
	for _, r := range routes {
		affected[r.Prefix] = true
		if a.st.byPrefix[r.Prefix] == nil {
			a.st.byPrefix[r.Prefix] = map[string]bool{}
		}
		a.st.byPrefix[r.Prefix][key] = true
	}
	if len(routes) == 0 {
		delete(a.st.routes, key)
	} else {
		a.st.routes[key] = routes
	}
}

// applyPrefix announces or withdraws one prefix after its contributions
// changed.
func (a *Agent) applyPrefix(ctx context.Context, prefix netip.Prefix) {
	var contrib []plan.Route
	for key := range a.st.byPrefix[prefix] {
		for _, r := range a.st.routes[key] {
			if r.Prefix == prefix {
				contrib = append(contrib, r)
			}
		}
	}
	if len(contrib) == 0 {
		delete(a.st.byPrefix, prefix)
		if _, was := a.st.announced[prefix]; !was {
			return
		}
		if err := a.st.router.DeletePath(ctx, prefix); err != nil {
			a.log.Error("withdraw prefix", "prefix", prefix, "error", err)
			return
		}
		delete(a.st.announced, prefix)
		a.metrics.bgpUpdates.WithLabelValues("withdraw").Inc()
		return
	}
	merged := plan.Merge(prefix, contrib)
	if len(merged.Conflict) > 0 {
		a.reportConflict(prefix, merged)
	}
	if old, ok := a.st.announced[prefix]; ok && samePath(old, merged) {
		return
	}
	if err := a.st.router.SetPath(ctx, toBGPPath(merged)); err != nil {
		a.log.Error("announce prefix", "prefix", prefix, "error", err)
		return
	}
	a.st.announced[prefix] = merged
	a.metrics.bgpUpdates.WithLabelValues("announce").Inc()
}

// ensureRouter starts the BGP component the first time this node has
// sessions, and restarts it when the router ID must change. It reports whether a new component was started (all routes must then be
// sent again).
func (a *Agent) ensureRouter(compCtx context.Context, wg *sync.WaitGroup, errs chan error, sessions []*model.Peer) (bool, error) {
	if len(sessions) == 0 && a.st.router == nil {
		return false, nil
	}
	id, err := a.routerID(sessions)
	if err != nil {
		return false, err
	}
	if a.st.router != nil && id == a.st.routerID {
		return false, nil
	}
	a.stopRouter()
	r, err := a.cfg.NewRouter(id)
	if err != nil {
		return false, fmt.Errorf("build BGP speaker with router ID %s: %w", id, err)
	}
	ctx, cancel := context.WithCancel(compCtx)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		if err := r.Run(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("BGP speaker stopped: %w", err)
		}
	}()
	a.st.router, a.st.routerID, a.st.routerCancel, a.st.routerDone = r, id, cancel, done
	a.st.peers, a.st.announced = nil, map[netip.Prefix]plan.Path{}
	clear(a.st.routes)
	clear(a.st.byPrefix)
	return true, nil
}

// stopRouter stops a running BGP component and waits for it.
func (a *Agent) stopRouter() {
	if a.st.router == nil {
		return
	}
	a.st.routerCancel()
	<-a.st.routerDone
	a.st.router = nil
}

// routerID is the router ID the peers agree on, or this node's IPv4.
func (a *Agent) routerID(sessions []*model.Peer) (netip.Addr, error) {
	var id netip.Addr
	for _, p := range sessions {
		if !p.RouterID.IsValid() {
			continue
		}
		if id.IsValid() && id != p.RouterID {
			return netip.Addr{}, fmt.Errorf("BGPPeers selecting node %s ask for different router IDs (%s, %s); one router ID is used for all sessions", a.cfg.NodeName, id, p.RouterID)
		}
		id = p.RouterID
	}
	if !id.IsValid() {
		id = a.st.selfV4
	}
	if !id.IsValid() {
		return netip.Addr{}, fmt.Errorf("node %s has no IPv4 internal address to use as BGP router ID; set routerID on its BGPPeers", a.cfg.NodeName)
	}
	return id, nil
}

// peerConfigs converts the sessions of this node. IPv6 routes over an IPv4
// session carry this node's IPv6 address as next hop, and the reverse.
func (a *Agent) peerConfigs(sessions []*model.Peer) []bgp.PeerConfig {
	out := make([]bgp.PeerConfig, 0, len(sessions))
	for _, p := range sessions {
		pc := bgp.PeerConfig{
			Name: p.Name, MyASN: p.MyASN, PeerASN: p.PeerASN, DynamicASN: bgp.DynamicASN(p.DynamicASN),
			Address: p.Address, Port: p.Port, SourceAddress: p.SourceAddress,
			HoldTime: p.HoldTime, KeepaliveTime: p.KeepaliveTime, ConnectTime: p.ConnectTime,
			EBGPMultiHop: p.EBGPMultiHop, Password: p.Password, GracefulRestart: p.GracefulRestart,
		}
		if p.Address.Is4() {
			pc.IPv6NextHop = a.st.selfV6
		} else {
			pc.IPv4NextHop = a.st.selfV4
		}
		if b := p.BFDProfile; b != nil {
			pc.BFD = &bgp.BFDConfig{ReceiveInterval: b.ReceiveInterval, TransmitInterval: b.TransmitInterval, DetectMultiplier: b.DetectMultiplier}
		}
		out = append(out, pc)
	}
	return out
}

// reportConflict reports advertisements that disagree on localPref for
// one prefix, on every Service contributing to it.
func (a *Agent) reportConflict(prefix netip.Prefix, p plan.Path) {
	a.metrics.bgpConflicts.Inc()
	if old, ok := a.st.announced[prefix]; ok && slices.Equal(old.Conflict, p.Conflict) {
		return
	}
	for key := range a.st.byPrefix[prefix] {
		if svc := a.st.refs[key]; svc != nil {
			a.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonBGPLocalPrefConf, "Announce",
				"BGPAdvertisements %s set different localPref for %s; using %d from %s", strings.Join(p.Conflict, ", "), prefix, p.LocalPref, p.Conflict[0])
		}
	}
}

// toBGPPath converts a merged plan path.
func toBGPPath(p plan.Path) bgp.Path {
	out := bgp.Path{Prefix: p.Prefix, Peers: p.Peers, LocalPref: p.LocalPref, Communities: p.Communities}
	for _, l := range p.LargeCommunities {
		out.LargeCommunities = append(out.LargeCommunities, bgp.LargeCommunity{GlobalAdmin: l.GlobalAdmin, LocalData1: l.LocalData1, LocalData2: l.LocalData2})
	}
	return out
}

// unionKeys returns the keys of both maps.
func unionKeys[V1, V2 any](x map[string]V1, y map[string]V2) map[string]bool {
	out := make(map[string]bool, len(x)+len(y))
	for k := range x {
		out[k] = true
	}
	for k := range y {
		out[k] = true
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

// sameRoute compares routes.
func sameRoute(x, y plan.Route) bool {
	return x.Prefix == y.Prefix && x.LocalPref == y.LocalPref && x.Advertisement == y.Advertisement &&
		slices.Equal(x.Peers, y.Peers) && slices.Equal(x.Communities, y.Communities) && slices.Equal(x.LargeCommunities, y.LargeCommunities)
}

// samePath compares merged paths.
func samePath(x, y plan.Path) bool {
	return x.Prefix == y.Prefix && x.LocalPref == y.LocalPref && slices.Equal(x.Peers, y.Peers) &&
		slices.Equal(x.Communities, y.Communities) && slices.Equal(x.LargeCommunities, y.LargeCommunities)
}

// samePeer compares session configurations.
func samePeer(x, y bgp.PeerConfig) bool {
	bfdSame := (x.BFD == nil) == (y.BFD == nil) && (x.BFD == nil || *x.BFD == *y.BFD)
	x.BFD, y.BFD = nil, nil
	return bfdSame && x == y
}
