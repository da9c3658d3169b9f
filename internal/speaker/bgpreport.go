package speaker

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// report emits the Service events of BGP mode. Policy: one event per
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
func (b *bgpReconciler) report(ch changes, open bool) {
	if !open {
		return
	}
	all := ch.config || !b.seeded
	b.seeded = true
	if ch.nodes || all {
		if sig := b.nodesSignature(); sig != b.nodesSig {
			b.nodesSig, all = sig, true
		}
	}
	keys := ch.services
	if all {
		keys = slices.SortedFunc(maps.Keys(unionKeys(b.view.services, b.reported)), plan.CompareKeys)
	}
	if len(keys) == 0 {
		return
	}
	nodes := slices.SortedFunc(maps.Values(b.view.nodes), func(x, y plan.Node) int { return cmp.Compare(x.Name, y.Name) })
	emit := firstMember(b.cfg.Members, b.cfg.NodeName)
	for _, key := range keys {
		var ann plan.BGPAnnouncement
		if s, ok := b.view.services[key]; ok {
			ann = plan.BGPAnnouncers(b.view.config, nodes, &s)
		}
		old := b.reported[key]
		if reflect.DeepEqual(ann, old) {
			continue
		}
		if ann.Empty() {
			delete(b.reported, key)
		} else {
			b.reported[key] = ann
		}
		if emit {
			b.emitAnnouncement(key, old, ann)
		}
	}
}

// emitBGPAnnouncement emits one Service's event for a change of who
// announces it.
func (b *bgpReconciler) emitAnnouncement(key types.NamespacedName, old, ann plan.BGPAnnouncement) {
	svc := b.view.refs[key]
	switch {
	case svc == nil:
	case ann.Empty():
		b.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonBGPWithdrawn, "Withdraw",
			"No node announces %s any more", joinPrefixes(old.Prefixes))
	default:
		b.cfg.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonBGPAnnounced, "Announce",
			"Announced by %s: %s to %s", strings.Join(ann.Nodes, ", "), joinPrefixes(ann.Prefixes), strings.Join(ann.Peers, ", "))
	}
}

// nodesSignature renders what the BGP plan reads of the Nodes (names,
// labels, exclusion, cordon): Node updates that leave it alone (heartbeats)
// change no announcement.
func (b *bgpReconciler) nodesSignature() string {
	var sb strings.Builder
	for _, name := range slices.Sorted(maps.Keys(b.view.nodes)) {
		n := b.view.nodes[name]
		fmt.Fprintf(&sb, "%s %v %v", n.Name, n.Excluded, n.Cordoned)
		for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
			fmt.Fprintf(&sb, " %q=%q", k, n.Labels[k])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// joinPrefixes renders prefixes for events.
func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
