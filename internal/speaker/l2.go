package speaker

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// Event reasons on Services for L2 mode.
const (
	ReasonL2Announced = "L2Announced"
	ReasonL2Skipped   = "L2NotAnnounced"
	ReasonL2OffSubnet = "L2OffSubnet"
)

// l2Reconciler makes this node answer ARP/NDP for exactly the addresses it
// wins, and reports it (events, ServiceL2Status). It reads the shared view
// and owns everything else it needs.
type l2Reconciler struct {
	cfg     *Config
	view    *view
	metrics *metrics
	log     *slog.Logger

	owned map[netip.Addr]plan.L2Announcement // this node's
	// releasing are addresses this node lost to another live speaker and
	// keeps answering for until the new owner claims them (a foreign
	// sighting) or HandoffTimeout passes: a planned move never leaves an
	// address unanswered. sighted remembers recent claims of owned
	// addresses by others (the new owner may announce before this node
	// sees the change). releaseTimer fires at the earliest deadline.
	releasing        map[netip.Addr]release
	sighted          map[netip.Addr]time.Time
	releaseTimer     deadline
	track            l2Track         // what the next plan must recompute
	lastMembers      map[string]bool // live members at the last sync; nil before it
	membersChangedAt time.Time
	// away are speakers that left for a rolling update, kept in elections
	// until their deadline (awayTimer fires at the earliest); awayExpired
	// those whose time ran out while they are still departed.
	away        map[string]awayMember
	awayExpired map[string]bool
	awayTimer   deadline

	skips     map[types.NamespacedName]map[netip.Addr]plan.Reason // reasons last reported
	offSubnet map[types.NamespacedName]map[netip.Addr]bool        // off-subnet addresses last seen, by Service
	status    map[types.NamespacedName]string                     // signature of the status written
	rewrites  map[types.NamespacedName]string                     // signature of the statuses written naming another owner
	announced map[types.NamespacedName]bool                       // Services some node announced at the last plan
}

// newL2Reconciler returns a reconciler that owns nothing yet.
func newL2Reconciler(cfg *Config, v *view, m *metrics) *l2Reconciler {
	return &l2Reconciler{
		cfg: cfg, view: v, metrics: m, log: cfg.Logger,
		owned:       map[netip.Addr]plan.L2Announcement{},
		releasing:   map[netip.Addr]release{},
		sighted:     map[netip.Addr]time.Time{},
		track:       newL2Track(),
		away:        map[string]awayMember{},
		awayExpired: map[string]bool{},
		skips:       map[types.NamespacedName]map[netip.Addr]plan.Reason{},
		offSubnet:   map[types.NamespacedName]map[netip.Addr]bool{},
		status:      map[types.NamespacedName]string{},
		rewrites:    map[types.NamespacedName]string{},
		announced:   map[types.NamespacedName]bool{},
	}
}

// balancedInUse reports whether an L2Advertisement asks for placement
// Balanced.
func balancedInUse(cfg *model.Config) bool {
	if cfg == nil {
		return false
	}
	return slices.ContainsFunc(cfg.L2Advertisements, func(a *model.L2Advertisement) bool {
		return a.Placement == model.PlacementBalanced
	})
}

// membersChanged notes when membership last changed (takeovers are timed
// from it).
func (r *l2Reconciler) membersChanged() { r.membersChangedAt = r.cfg.Clock.Now() }

// electorate returns the members elections run among: the live ones but
// those the fast detector counts dead, and those away for a rolling
// update (withAway).
func (r *l2Reconciler) electorate() []membership.Member {
	live := r.cfg.Members.Members()
	if r.cfg.Detector != nil {
		live = withoutDead(live, r.cfg.Detector.Dead(), r.cfg.NodeName)
	}
	return r.withAway(live)
}

// note records what the next sync must recompute: the groups of the
// changed Services, everything after a change of configuration or Nodes,
// and everything after any Service change while some advertisement asks
// for placement Balanced (a Balanced group's owner depends on every other
// Balanced group). Every change is noted, also before the speaker opens.
func (r *l2Reconciler) note(ch changes) {
	if ch.config || ch.nodes || (len(ch.services) > 0 && balancedInUse(r.view.config)) {
		r.track.full = true
	}
	for _, key := range ch.services {
		r.track.serviceChanged(key, ch.old[key], r.view.services[key].IPs)
	}
}

// sync elects the owners of the addresses the noted changes touch (all of
// them after a change of members) among live, and makes this node answer
// for exactly the ones it owns.
func (r *l2Reconciler) sync(live []membership.Member) {
	members := r.planMembers(live)
	keys, scopeIPs, full := r.track.scope(r.view.services, members)
	if !full && len(keys) == 0 {
		return
	}
	svcs := make([]plan.Service, 0, len(keys))
	for _, k := range keys {
		if s, ok := r.view.services[k]; ok {
			svcs = append(svcs, s)
		}
	}
	p := plan.L2(plan.L2Input{Config: r.view.config, Services: svcs, Nodes: r.view.nodes, Members: members})
	prevOwner := r.track.apply(scopeIPs, p)
	old := r.owned
	owned := maps.Clone(old)
	for ip := range scopeIPs {
		delete(owned, ip)
	}
	scoped := map[netip.Addr]plan.L2Announcement{} // this node's, among the recomputed
	for _, ann := range p.Announcements {
		if ann.Node == r.cfg.NodeName {
			owned[ann.IP], scoped[ann.IP] = ann, ann
		}
	}
	r.report(old, scoped, p.Skipped, keys, full)
	r.reportOffSubnet(p.Announcements, keys, firstMember(r.cfg.Members, r.cfg.NodeName))
	r.observeTakeovers(prevOwner, scoped, members)
	r.writeStatus(p, keys)
	released := r.release(old, owned, members)
	r.owned = owned
	if released || !maps.EqualFunc(owned, old, sameAnnouncement) {
		r.announce()
	}
	if r.membersJoined(members) && len(owned) > 0 {
		r.log.Info("a speaker joined; announcing this node's addresses again", "addresses", len(owned))
		r.cfg.Announcer.Reannounce()
	}
	r.track.done()
	r.metrics.l2Owned.Set(float64(len(owned)))
}

// observeTakeovers times the addresses this node took over from an owner
// that is gone (dead, left or draining), from the membership change that
// revealed it.
func (r *l2Reconciler) observeTakeovers(prevOwner map[netip.Addr]string, scoped map[netip.Addr]plan.L2Announcement, members []plan.Member) {
	live := map[string]bool{}
	for _, m := range members {
		live[m.Name] = !m.Draining
	}
	for ip := range scoped {
		prev := prevOwner[ip]
		if prev == "" || prev == r.cfg.NodeName || live[prev] {
			continue
		}
		reason := "dead_or_left"
		if _, present := live[prev]; present {
			reason = "draining"
		}
		r.metrics.failoverGap.WithLabelValues(reason).Observe(r.cfg.Clock.Since(r.membersChangedAt).Seconds())
	}
}

// membersJoined records the live members and reports whether one joined
// since the last sync. A member that joins may come back from the other
// side of a healed partition, where it took over addresses this node kept:
// clients then follow the other side until this node announces them
// again.
func (r *l2Reconciler) membersJoined(members []plan.Member) bool {
	now := make(map[string]bool, len(members))
	joined := false
	for _, m := range members {
		now[m.Name] = true
		joined = joined || (r.lastMembers != nil && !r.lastMembers[m.Name])
	}
	r.lastMembers = now
	return joined
}

// planMembers converts the live members; this node's interfaces come from
// the announcer directly, so they are current even before gossip echoes.
func (r *l2Reconciler) planMembers(ms []membership.Member) []plan.Member {
	out := make([]plan.Member, 0, len(ms))
	for _, m := range ms {
		if m.Name == r.cfg.NodeName && r.view.ifaces != nil {
			m.Interfaces, m.Addrs, m.AddrsKnown = nil, r.view.ifaces, true
			for _, i := range r.view.ifaces {
				m.Interfaces = append(m.Interfaces, i.Name)
			}
			if m.Interfaces == nil {
				m.Interfaces = []string{}
			}
		}
		pm := plan.Member{Name: m.Name, Interfaces: m.Interfaces, Draining: m.Draining, AddrsKnown: m.AddrsKnown}
		for _, a := range m.Addrs {
			pm.Addrs = append(pm.Addrs, plan.InterfaceAddrs{Name: a.Name, IPv4: a.IPv4, IPv6: a.IPv6, Prefixes: a.Prefixes})
		}
		out = append(out, pm)
	}
	return out
}

// report emits events for the Services whose addresses this node starts
// announcing (among the recomputed ones, scoped), and for Services whose
// addresses cannot be announced (reported by the first live member only,
// since every speaker sees the same).
func (r *l2Reconciler) report(old, scoped map[netip.Addr]plan.L2Announcement, skipped []plan.Skipped, keys []types.NamespacedName, full bool) {
	for ip := range scoped {
		if _, had := old[ip]; !had {
			r.metrics.l2Takeovers.Inc()
		}
	}
	news := newlyAnnounced(old, scoped)
	for _, key := range slices.SortedFunc(maps.Keys(news), plan.CompareKeys) {
		svc := r.view.refs[key]
		if svc == nil {
			continue
		}
		ips := news[key]
		r.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonL2Announced, "Announce",
			"Node %s announces %s (ARP/NDP on %s)", r.cfg.NodeName, joinAddrs(ips), interfacesText(scoped, ips))
	}
	r.reportSkips(skipped, keys, full, firstMember(r.cfg.Members, r.cfg.NodeName))
}

// newlyAnnounced returns, per Service, the sorted addresses announced for
// it in owned but not in old: addresses this node takes over, and
// addresses it already announced that a Service starts using (a shared
// address, or one reused right after its previous Service went away). One
// event per Service covers all its addresses: the event recorder merges
// later events of the same Service and reason into the first one, keeping
// only its message.
func newlyAnnounced(old, owned map[netip.Addr]plan.L2Announcement) map[types.NamespacedName][]netip.Addr {
	out := map[types.NamespacedName][]netip.Addr{}
	for ip, ann := range owned {
		prev, had := old[ip]
		for _, key := range ann.Services {
			if !had || !slices.Contains(prev.Services, key) {
				out[key] = append(out[key], ip)
			}
		}
	}
	for _, ips := range out {
		slices.SortFunc(ips, netip.Addr.Compare)
	}
	return out
}

// joinAddrs formats addresses as a comma-separated list.
func joinAddrs(ips []netip.Addr) string {
	parts := make([]string, len(ips))
	for i, ip := range ips {
		parts[i] = ip.String()
	}
	return strings.Join(parts, ", ")
}

// interfacesText names the interfaces the addresses are answered on.
func interfacesText(owned map[netip.Addr]plan.L2Announcement, ips []netip.Addr) string {
	var names []string
	for _, ip := range ips {
		ifs := owned[ip].Interfaces
		if len(ifs) == 0 {
			return "all usable interfaces"
		}
		names = append(names, ifs...)
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ",")
}

// reportSkips emits a Warning event when an address's reason for not
// being announced appears or changes (if emit is set), and remembers the
// reasons of the recomputed Services (keys; all when full).
func (r *l2Reconciler) reportSkips(skipped []plan.Skipped, keys []types.NamespacedName, full bool, emit bool) {
	seen := r.skips
	if full {
		clear(seen)
	}
	old := make(map[types.NamespacedName]map[netip.Addr]plan.Reason, len(keys))
	for _, k := range keys {
		if rs, ok := seen[k]; ok {
			old[k] = rs
			delete(seen, k)
		}
	}
	for _, s := range skipped {
		reasons := seen[s.Service]
		if reasons == nil {
			reasons = map[netip.Addr]plan.Reason{}
			seen[s.Service] = reasons
		}
		reasons[s.IP] = s.Reason
		// Only "no node can announce it" is worth an event: no pool or
		// advertisement means the address is not meant for L2, and no
		// ready endpoint is the normal state of a Service being created.
		if old[s.Service][s.IP] == s.Reason || !emit || s.Reason != plan.ReasonNoCandidate {
			continue
		}
		if svc := r.view.refs[s.Service]; svc != nil {
			r.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonL2Skipped, "Announce", "%s is not announced: %s", s.IP, s.Reason)
		}
	}
}

// reportOffSubnet emits, if emit is set, one Warning event per Service
// when addresses of it become off-subnet (no node that may answer is on
// their subnet, so the owner answers as on any segment), naming them and
// their owner. Every speaker keeps track of what was seen, so a speaker
// that becomes the reporter does not repeat it.
func (r *l2Reconciler) reportOffSubnet(anns []plan.L2Announcement, keys []types.NamespacedName, emit bool) {
	now := map[types.NamespacedName]map[netip.Addr]string{} // off-subnet address -> owner
	for _, a := range anns {
		if !a.OffSubnet {
			continue
		}
		for _, key := range a.Services {
			if now[key] == nil {
				now[key] = map[netip.Addr]string{}
			}
			now[key][a.IP] = a.Node
		}
	}
	for _, key := range keys {
		seen, cur := r.offSubnet[key], now[key]
		var fresh []netip.Addr
		for ip := range cur {
			if !seen[ip] {
				fresh = append(fresh, ip)
			}
		}
		if len(cur) == 0 {
			delete(r.offSubnet, key)
			continue
		}
		r.offSubnet[key] = map[netip.Addr]bool{}
		for ip := range cur {
			r.offSubnet[key][ip] = true
		}
		svc := r.view.refs[key]
		if len(fresh) == 0 || !emit || svc == nil {
			continue
		}
		slices.SortFunc(fresh, netip.Addr.Compare)
		r.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonL2OffSubnet, "Announce",
			"%s on no subnet of any eligible node: node %s answers on every allowed interface of the family, "+
				"which clients reach only if the network routes or proxies the address there", joinAddrs(fresh), cur[fresh[0]])
	}
}

// sameAnnouncement compares what the announcer needs of two announcements
// of one address.
func sameAnnouncement(x, y plan.L2Announcement) bool {
	return x.Node == y.Node && slices.Equal(x.Interfaces, y.Interfaces)
}

// foreign handles another host claiming an address: the end of a
// hand-over for an address being released, a conflict for an owned one.
func (r *l2Reconciler) foreign(s l2.ForeignSighting) {
	if _, ok := r.releasing[s.IP]; ok {
		delete(r.releasing, s.IP)
		r.announce()
		return
	}
	if _, owned := r.owned[s.IP]; owned {
		r.sighted[s.IP] = r.cfg.Clock.Now()
		r.metrics.l2Conflicts.Inc()
		r.log.Warn("another host claims an address this node announces", "ip", s.IP, "mac", s.MAC.String(), "interface", s.Interface)
	}
}

// drain hands this node's L2 addresses over before it stops: it tells the
// peers it is draining (they elect new owners, which announce), keeps
// answering until each address has been claimed by its new owner or
// HandoffTimeout passes, then stops answering.
func (r *l2Reconciler) drain() {
	defer r.cfg.Announcer.SetAnnouncements(nil)
	owned := slices.Collect(maps.Keys(r.owned))
	if len(owned) == 0 || len(r.cfg.Members.Members()) < 2 {
		return
	}
	start := r.cfg.Clock.Now()
	r.cfg.Announcer.SetWatched(owned)
	if err := r.cfg.Members.SetDraining(true, 500*time.Millisecond); err != nil {
		r.log.Warn("announce draining", "error", err)
	}
	remaining := map[netip.Addr]bool{}
	for _, ip := range owned {
		remaining[ip] = true
	}
	timeout := r.cfg.Clock.NewTimer(r.cfg.HandoffTimeout)
	defer timeout.Stop()
	for len(remaining) > 0 {
		select {
		case s := <-r.cfg.Announcer.Foreign():
			delete(remaining, s.IP)
		case <-timeout.C():
			r.log.Warn("handover timed out; stopping anyway", "unclaimed", len(remaining))
			return
		}
	}
	r.log.Info("addresses handed over", "addresses", len(owned), "took", r.cfg.Clock.Since(start).String())
}

// release is an address being handed to another live speaker.
type release struct {
	ann   plan.L2Announcement // as this node announced it
	until time.Time
}

// release updates the addresses being released after a plan: those of
// old that a live, non-draining speaker now owns start (unless that
// speaker already claimed them), those owned again stop. It reports
// whether the set changed.
func (r *l2Reconciler) release(old, owned map[netip.Addr]plan.L2Announcement, members []plan.Member) bool {
	changed := false
	now := r.cfg.Clock.Now()
	for ip := range r.releasing {
		if _, mine := owned[ip]; mine {
			delete(r.releasing, ip)
			changed = true
		}
	}
	live := map[string]bool{}
	for _, m := range members {
		live[m.Name] = !m.Draining
	}
	for ip, ann := range old {
		if _, mine := owned[ip]; mine {
			continue
		}
		next := r.track.ann[ip].Node
		claimed, seen := r.sighted[ip]
		delete(r.sighted, ip)
		if next == "" || next == r.cfg.NodeName || !live[next] || !live[r.cfg.NodeName] ||
			(seen && now.Sub(claimed) < r.cfg.HandoffTimeout) {
			continue
		}
		r.releasing[ip] = release{ann: ann, until: now.Add(r.cfg.HandoffTimeout)}
		changed = true
	}
	for ip, at := range r.sighted {
		if _, mine := owned[ip]; !mine || now.Sub(at) >= r.cfg.HandoffTimeout {
			delete(r.sighted, ip)
		}
	}
	return changed
}

// announce hands the announcer the owned addresses and those being
// released, dropping releases whose time is up, and arms the release
// timer.
func (r *l2Reconciler) announce() {
	now := r.cfg.Clock.Now()
	want := make(map[netip.Addr][]string, len(r.owned)+len(r.releasing))
	var first time.Time
	for ip, rel := range r.releasing {
		if !now.Before(rel.until) {
			delete(r.releasing, ip)
			continue
		}
		want[ip] = rel.ann.Interfaces
		if first.IsZero() || rel.until.Before(first) {
			first = rel.until
		}
	}
	for ip, ann := range r.owned {
		want[ip] = ann.Interfaces
	}
	r.cfg.Announcer.SetAnnouncements(want)
	r.releaseTimer.arm(r.cfg.Clock, now, first)
}

// releaseDue fires when a release's time is up (nil without releases).
func (r *l2Reconciler) releaseDue() <-chan time.Time { return r.releaseTimer.C() }

// releaseTimerFired stops answering for the releases whose time is up.
func (r *l2Reconciler) releaseTimerFired() {
	r.releaseTimer.fired()
	if n := len(r.releasing); n > 0 {
		r.announce()
		if gone := n - len(r.releasing); gone > 0 {
			r.log.Warn("new owners did not claim released addresses in time; stopped answering anyway", "addresses", gone)
		}
	}
}
