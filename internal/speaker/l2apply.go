package speaker

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// Event reasons on Services for L2 mode.
const (
	ReasonL2Announced = "L2Announced"
	ReasonL2Skipped   = "L2NotAnnounced"
)

// syncL2 elects the owners of the addresses a change touches (all of
// them after a change of members, Nodes or configuration) and makes this
// node answer for exactly the ones it owns.
func (a *Agent) syncL2() {
	live := a.withAway(a.cfg.Members.Members()) // one view for opening and electing
	members := a.planMembers(live)
	if !a.l2Open(live, members) {
		return
	}
	keys, scopeIPs, full := a.st.l2.scope(a.st.services, members)
	if !full && len(keys) == 0 {
		return
	}
	svcs := make([]plan.Service, 0, len(keys))
	for _, k := range keys {
		if s, ok := a.st.services[k]; ok {
			svcs = append(svcs, s)
		}
	}
	p := plan.L2(plan.L2Input{Config: a.st.config, Services: svcs, Nodes: a.st.nodes, Members: members})
	prevOwner := a.st.l2.apply(scopeIPs, p)
	old := a.st.l2Owned
	owned := maps.Clone(old)
	for ip := range scopeIPs {
		delete(owned, ip)
	}
	scoped := map[netip.Addr]plan.L2Announcement{} // this node's, among the recomputed
	for _, ann := range p.Announcements {
		if ann.Node == a.cfg.NodeName {
			owned[ann.IP], scoped[ann.IP] = ann, ann
		}
	}
	a.reportL2(old, scoped, p.Skipped, keys, full)
	a.observeTakeovers(prevOwner, scoped, members)
	a.writeL2Status(p, keys)
	if !maps.EqualFunc(owned, old, sameAnnouncement) {
		want := make(map[netip.Addr][]string, len(owned))
		for ip, ann := range owned {
			want[ip] = ann.Interfaces
		}
		a.cfg.Announcer.SetAnnouncements(want)
	}
	if a.membersJoined(members) && len(owned) > 0 {
		a.log.Info("a speaker joined; announcing this node's addresses again", "addresses", len(owned))
		a.cfg.Announcer.Reannounce()
	}
	a.st.l2Owned = owned
	a.st.l2.done()
	a.metrics.l2Owned.Set(float64(len(owned)))
}

// observeTakeovers times the addresses this node took over from an owner
// that is gone (dead, left or draining), from the membership change that
// revealed it.
func (a *Agent) observeTakeovers(prevOwner map[netip.Addr]string, scoped map[netip.Addr]plan.L2Announcement, members []plan.Member) {
	live := map[string]bool{}
	for _, m := range members {
		live[m.Name] = !m.Draining
	}
	for ip := range scoped {
		prev := prevOwner[ip]
		if prev == "" || prev == a.cfg.NodeName || live[prev] {
			continue
		}
		reason := "dead_or_left"
		if _, present := live[prev]; present {
			reason = "draining"
		}
		a.metrics.failoverGap.WithLabelValues(reason).Observe(a.cfg.Clock.Since(a.st.membersChangedAt).Seconds())
	}
}

// membersJoined records the live members and reports whether one joined
// since the last L2 sync. A member that joins may come back from the other
// side of a healed partition, where it took over addresses this node kept:
// clients then follow the other side until this node announces them
// again.
func (a *Agent) membersJoined(members []plan.Member) bool {
	now := make(map[string]bool, len(members))
	joined := false
	for _, m := range members {
		now[m.Name] = true
		joined = joined || (a.st.l2Members != nil && !a.st.l2Members[m.Name])
	}
	a.st.l2Members = now
	return joined
}

// l2Open reports whether this speaker may answer ARP/NDP yet: it knows no
// other node to meet, met the speaker of every other Node (and one at least
// when it was given extra peers), joined a running cluster (a peer that
// already answers: joining merged its whole view), or waited StartupGrace.
// A speaker that opened on meeting just one other would elect among part of
// the cluster: when speakers start together, two of them can each see a
// different part, both answer for one address, and clients follow
// whichever answered last. The view must hold this speaker itself, and
// the peer that answers must be in the view the election then uses: a
// speaker that opened on a later view than it elects on would answer for
// addresses that the newcomer wins. Once open, it tells its peers
// (Answering).
func (a *Agent) l2Open(live []membership.Member, members []plan.Member) bool {
	if a.st.l2Open {
		return true
	}
	why := ""
	inView := slices.ContainsFunc(live, func(m membership.Member) bool { return m.Name == a.cfg.NodeName })
	switch {
	case len(a.st.peersSet) == 0:
		why = "no other node"
	case inView && a.metAllPeers(members):
		why = "met every node's speaker"
	case inView && a.cfg.Members.Joined() && a.peerAnswering(live):
		why = "joined running speakers"
	case a.st.graceOver:
		why = "startup grace over"
	default:
		return false
	}
	a.st.l2Open = true
	a.log.Info("L2 announcing enabled", "why", why, "members", len(members), "waited", a.cfg.Clock.Since(a.st.start).String())
	if err := a.cfg.Members.SetAnswering(true, 200*time.Millisecond); err != nil {
		a.log.Warn("tell peers this speaker answers", "error", err)
	}
	return true
}

// peerAnswering reports whether another member of live already answers.
func (a *Agent) peerAnswering(live []membership.Member) bool {
	for _, m := range live {
		if m.Answering && m.Name != a.cfg.NodeName {
			return true
		}
	}
	return false
}

// metAllPeers reports whether every other Node's speaker is a live member.
func (a *Agent) metAllPeers(members []plan.Member) bool {
	if len(members) < 2 {
		return false
	}
	live := make(map[string]bool, len(members))
	for _, m := range members {
		live[m.Name] = true
	}
	for _, n := range a.st.peerNodes {
		if !live[n] {
			return false
		}
	}
	return true
}

// planMembers converts the live members; this node's interfaces come from
// the announcer directly, so they are current even before gossip echoes.
func (a *Agent) planMembers(ms []membership.Member) []plan.Member {
	out := make([]plan.Member, 0, len(ms))
	for _, m := range ms {
		pm := plan.Member{Name: m.Name, Interfaces: m.Interfaces, Draining: m.Draining}
		if m.Name == a.cfg.NodeName {
			pm.Interfaces = a.st.ifaces
		}
		out = append(out, pm)
	}
	return out
}

// reportL2 emits events for the Services whose addresses this node starts
// announcing (among the recomputed ones, scoped), and for Services whose
// addresses cannot be announced (reported by the first live member only,
// since every speaker sees the same).
func (a *Agent) reportL2(old, scoped map[netip.Addr]plan.L2Announcement, skipped []plan.Skipped, keys []string, full bool) {
	for ip := range scoped {
		if _, had := old[ip]; !had {
			a.metrics.l2Takeovers.Inc()
		}
	}
	news := newlyAnnounced(old, scoped)
	for _, key := range slices.Sorted(maps.Keys(news)) {
		svc := a.st.refs[key]
		if svc == nil {
			continue
		}
		ips := news[key]
		a.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonL2Announced, "Announce",
			"Node %s announces %s (ARP/NDP on %s)", a.cfg.NodeName, joinAddrs(ips), interfacesText(scoped, ips))
	}
	a.reportSkips(a.st.l2Skips, skipped, keys, full, ReasonL2Skipped, a.firstMember())
}

// newlyAnnounced returns, per Service key, the sorted addresses announced
// for it in owned but not in old: addresses this node takes over, and
// addresses it already announced that a Service starts using (a shared
// address, or one reused right after its previous Service went away). One
// event per Service covers all its addresses: the event recorder merges
// later events of the same Service and reason into the first one, keeping
// only its message.
func newlyAnnounced(old, owned map[netip.Addr]plan.L2Announcement) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
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

// firstMember reports whether this node is the first live member by name,
// the one that reports cluster-wide L2 problems.
func (a *Agent) firstMember() bool {
	ms := a.cfg.Members.Members()
	return len(ms) == 0 || ms[0].Name == a.cfg.NodeName
}

// reportSkips emits a Warning event when an address's reason for not
// being announced appears or changes (if emit is set), and remembers the
// reasons of the recomputed Services (keys; all when full).
func (a *Agent) reportSkips(seen map[string]map[netip.Addr]plan.Reason, skipped []plan.Skipped, keys []string, full bool, reason string, emit bool) {
	if full {
		clear(seen)
	}
	old := make(map[string]map[netip.Addr]plan.Reason, len(keys))
	for _, k := range keys {
		if r, ok := seen[k]; ok {
			old[k] = r
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
		if svc := a.st.refs[s.Service]; svc != nil {
			a.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, reason, "Announce", "%s is not announced: %s", s.IP, s.Reason)
		}
	}
}

// sameAnnouncement compares two announcements of one address.
func sameAnnouncement(x, y plan.L2Announcement) bool {
	return x.Node == y.Node && slices.Equal(x.Interfaces, y.Interfaces)
}

// foreign handles another host claiming an address: expected while
// handing over, a conflict otherwise.
func (a *Agent) foreign(s l2.ForeignSighting) {
	if _, owned := a.st.l2Owned[s.IP]; owned {
		a.metrics.l2Conflicts.Inc()
		a.log.Warn("another host claims an address this node announces", "ip", s.IP, "mac", s.MAC.String(), "interface", s.Interface)
	}
}

// drain hands this node's L2 addresses over before it stops: it tells the
// peers it is draining (they elect new owners, which announce), keeps
// answering until each address has been claimed by its new owner or
// HandoffTimeout passes, then stops answering.
func (a *Agent) drain() {
	defer a.cfg.Announcer.SetAnnouncements(nil)
	owned := slices.Collect(maps.Keys(a.st.l2Owned))
	if len(owned) == 0 || len(a.cfg.Members.Members()) < 2 {
		return
	}
	start := a.cfg.Clock.Now()
	a.cfg.Announcer.SetWatched(owned)
	if err := a.cfg.Members.SetDraining(true, 500*time.Millisecond); err != nil {
		a.log.Warn("announce draining", "error", err)
	}
	remaining := map[netip.Addr]bool{}
	for _, ip := range owned {
		remaining[ip] = true
	}
	timeout := a.cfg.Clock.NewTimer(a.cfg.HandoffTimeout)
	defer timeout.Stop()
	for len(remaining) > 0 {
		select {
		case s := <-a.cfg.Announcer.Foreign():
			delete(remaining, s.IP)
		case <-timeout.C():
			a.log.Warn("handover timed out; stopping anyway", "unclaimed", len(remaining))
			return
		}
	}
	a.log.Info("addresses handed over", "addresses", len(owned), "took", a.cfg.Clock.Since(start).String())
}
