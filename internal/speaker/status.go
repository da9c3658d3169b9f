package speaker

import (
	"maps"
	"reflect"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// StatusWriter writes status objects in the background (statusq.Queue
// satisfies it). Put and Delete must not block.
type StatusWriter interface {
	Put(obj kube.Object, minInterval time.Duration)
	Delete(obj kube.Object)
}

// BGP status spacing: at least bgpStatusInterval between writes of this
// node's ServiceBGPStatus, plus bgpStatusPerService per Service it lists,
// up to bgpStatusMaxInterval. Each write sends every entry, and the API
// server's server-side apply of a keyed list costs in proportion (measured
// in the lab: ~0.17 CPU-s per write of 1,000 entries, +20 CPU-s while
// 1,000 Services were created): this caps that work at about 100 entries
// per second per node, whatever the number of Services.
const (
	bgpStatusInterval    = time.Second
	bgpStatusPerService  = 10 * time.Millisecond
	bgpStatusMaxInterval = 30 * time.Second
)

// bgpStatusSpacing is the time to leave after a write of a status listing
// n Services.
func bgpStatusSpacing(n int) time.Duration {
	return min(max(bgpStatusInterval, time.Duration(n)*bgpStatusPerService), bgpStatusMaxInterval)
}

// writeBGPStatus publishes this node's sessions and announcements, at
// most once per bgpStatusSpacing: until then it is not even built (that
// costs as much as the list is long), and a timer wakes the loop to do it.
func (b *bgpReconciler) writeStatus() {
	if b.cfg.Status == nil || b.cfg.Namespace == "" || !b.view.selfSeen {
		return
	}
	now := b.cfg.Clock.Now()
	if now.Before(b.statusNext) {
		b.statusTime.arm(b.cfg.Clock, now, b.statusNext)
		return
	}
	st := v1beta1.ServiceBGPStatusStatus{Node: b.cfg.NodeName, PrefixCount: len(b.desired)}
	if b.router != nil {
		for _, s := range b.router.Sessions() {
			ss := v1beta1.BGPSessionStatus{Peer: s.Name, Address: sessionAddress(s), State: s.State.String(),
				BFD: s.BFD.String(), PrefixesSent: s.PrefixesSent, LastError: s.LastError}
			if !s.EstablishedAt.IsZero() {
				t := metav1.NewTime(s.EstablishedAt)
				ss.EstablishedSince = &t
			}
			if s.State == bgp.StateEstablished {
				st.SessionsEstablished++
			}
			st.Sessions = append(st.Sessions, ss)
		}
	}
	for _, key := range slices.SortedFunc(maps.Keys(b.routes), plan.CompareKeys) {
		ann := v1beta1.BGPServiceAnnouncement{Service: key.String()}
		if t, ok := b.since[key]; ok {
			mt := metav1.NewTime(t)
			ann.Since = &mt
		}
		for _, r := range b.routes[key] {
			ann.Prefixes = append(ann.Prefixes, r.Prefix.String())
			ann.Peers = append(ann.Peers, r.Peers...)
		}
		ann.Prefixes = slices.Compact(slices.Sorted(slices.Values(ann.Prefixes)))
		ann.Peers = slices.Compact(slices.Sorted(slices.Values(ann.Peers)))
		st.Services = append(st.Services, ann)
	}
	if b.status != nil && reflect.DeepEqual(*b.status, st) {
		return
	}
	b.status = &st
	b.statusNext = now.Add(bgpStatusSpacing(len(st.Services)))
	obj := &v1beta1.ServiceBGPStatus{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceBGPStatus"},
		ObjectMeta: metav1.ObjectMeta{Name: b.cfg.NodeName, Namespace: b.cfg.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "pylon"}},
		Status: st,
	}
	b.cfg.Status.Put(obj, 0) // owned by the installation (package anchor)
}

// statusDue fires when a deferred status rebuild is due (nil without one).
func (b *bgpReconciler) statusDue() <-chan time.Time { return b.statusTime.C() }

// statusTimerFired forgets the fired timer; the sync that follows writes.
func (b *bgpReconciler) statusTimerFired() { b.statusTime.fired() }

// stopTimers stops a pending status rebuild (the loop is ending).
func (b *bgpReconciler) stopTimers() { b.statusTime.stop() }

// forgetNodes deletes, on the first live speaker, the BGP status of Nodes
// that are gone (the status belongs to the installation, not the Node).
func (b *bgpReconciler) forgetNodes(gone []string) {
	if len(gone) == 0 || b.cfg.Status == nil || b.cfg.Namespace == "" || !firstMember(b.cfg.Members, b.cfg.NodeName) {
		return
	}
	for _, name := range gone {
		b.cfg.Status.Delete(&v1beta1.ServiceBGPStatus{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.cfg.Namespace}})
	}
}

// sessionAddress is the router's address as reported: for an unnumbered
// session its link-local address with the interface as zone once found,
// empty before.
func sessionAddress(s bgp.SessionState) string {
	if !s.Address.IsValid() {
		return ""
	}
	return s.Address.String()
}
