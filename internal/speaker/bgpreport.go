package speaker

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// reportBGP emits the Service events of BGP mode. Policy: one event per
// Service when who announces it changes (the announcing nodes, its
// prefixes or their peers), emitted by one speaker for all, the first
// live member. A speaker per node reporting its own announcements would
// make Events grow with Services × nodes: 3,000 for 1,000 Services on 3
// nodes, 100,000 on 100 nodes. Which node announces what, with session
// state, is in each node's ServiceBGPStatus.
//
// Every speaker computes the announcements (plan.BGPAnnouncers, pure) and
// remembers them, so a speaker that becomes the reporter because the
// previous one left carries on where it stopped; a reporter that starts
// reports every Service once. Later events of a Service with the same
// reason are merged by the event recorder into a series of the first one
// (its note is kept).
//
// Nothing is computed before the speaker has met its peers (or waited
// StartupGrace, as for L2): until then every starting speaker would
// believe it is the first member and report.
func (a *Agent) reportBGP(configChanged, nodesChanged bool, changed []string) {
	if !a.st.l2Open {
		return
	}
	all := configChanged || !a.st.bgpReportSeeded
	a.st.bgpReportSeeded = true
	if nodesChanged || all {
		if sig := a.nodesSignature(); sig != a.st.bgpNodesSig {
			a.st.bgpNodesSig, all = sig, true
		}
	}
	keys := changed
	if all {
		keys = slices.Sorted(maps.Keys(unionKeys(a.st.services, a.st.bgpReported)))
	}
	if len(keys) == 0 {
		return
	}
	nodes := slices.SortedFunc(maps.Values(a.st.nodes), func(x, y plan.Node) int { return cmp.Compare(x.Name, y.Name) })
	emit := a.firstMember()
	for _, key := range keys {
		var ann plan.BGPAnnouncement
		if s, ok := a.st.services[key]; ok {
			ann = plan.BGPAnnouncers(a.st.config, nodes, &s)
		}
		old := a.st.bgpReported[key]
		if ann.Equal(old) {
			continue
		}
		if ann.Empty() {
			delete(a.st.bgpReported, key)
		} else {
			a.st.bgpReported[key] = ann
		}
		if emit {
			a.emitBGPAnnouncement(key, old, ann)
		}
	}
}

// emitBGPAnnouncement emits one Service's event for a change of who
// announces it.
func (a *Agent) emitBGPAnnouncement(key string, old, ann plan.BGPAnnouncement) {
	svc := a.st.refs[key]
	switch {
	case svc == nil:
	case ann.Empty():
		a.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonBGPWithdrawn, "Withdraw",
			"No node announces %s any more", joinPrefixes(old.Prefixes))
	default:
		a.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonBGPAnnounced, "Announce",
			"Announced by %s: %s to %s", strings.Join(ann.Nodes, ", "), joinPrefixes(ann.Prefixes), strings.Join(ann.Peers, ", "))
	}
}

// nodesSignature renders what the BGP plan reads of the Nodes (names,
// labels, exclusion, cordon): Node updates that leave it alone (heartbeats)
// change no announcement.
func (a *Agent) nodesSignature() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(a.st.nodes)) {
		n := a.st.nodes[name]
		fmt.Fprintf(&b, "%s %v %v", n.Name, n.Excluded, n.Cordoned)
		for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
			fmt.Fprintf(&b, " %q=%q", k, n.Labels[k])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// joinPrefixes renders prefixes for events.
func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
