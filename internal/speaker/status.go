package speaker

import (
	"maps"
	"slices"
	"strings"
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

// writeL2Status publishes, for each recomputed Service (keys) whose
// addresses this node owns, a ServiceL2Status naming this node; the first
// live member removes the status of recomputed Services nobody announces.
//
// A node that loses a Service whose status it wrote writes it once more,
// naming the new owner: its own write may have landed after the new
// owner's (a starting speaker can announce for a moment before it sees its
// peers), and nobody else would correct it.
func (a *Agent) writeL2Status(p plan.L2Plan, keys []string) {
	if a.cfg.Status == nil {
		return
	}
	owners := map[string]*v1beta1.ServiceL2StatusStatus{} // by Service key, whoever announces
	for _, ann := range p.Announcements {
		for _, key := range ann.Services {
			st := owners[key]
			if st == nil {
				ns, name := splitKey(key)
				st = &v1beta1.ServiceL2StatusStatus{ServiceName: name, ServiceNamespace: ns, Node: ann.Node}
				owners[key] = st
			}
			st.IPs = append(st.IPs, ann.IP.String())
			st.Interfaces = append(st.Interfaces, ann.Interfaces...)
		}
	}
	announced := map[string]bool{}
	for key, st := range owners {
		announced[key] = true
		if st.Node == a.cfg.NodeName {
			a.putL2Status(key, st)
		}
	}
	for _, key := range keys {
		st := owners[key]
		if st != nil && st.Node == a.cfg.NodeName {
			continue
		}
		if _, wrote := a.st.l2Status[key]; !wrote {
			continue
		}
		// Forget ours first: the signature does not name the node, so the
		// new owner's status would otherwise look unchanged.
		delete(a.st.l2Status, key)
		if st != nil {
			a.putL2Status(key, st)
			delete(a.st.l2Status, key) // not ours: taking it back rewrites it
		}
	}
	a.cleanL2Status(announced, keys)
}

// putL2Status writes one Service's L2 status when it changed.
func (a *Agent) putL2Status(key string, st *v1beta1.ServiceL2StatusStatus) {
	svc := a.st.refs[key]
	if svc == nil {
		return
	}
	slices.Sort(st.IPs)
	slices.Sort(st.Interfaces)
	st.Interfaces = slices.Compact(st.Interfaces)
	sig := strings.Join(st.IPs, ",") + "|" + strings.Join(st.Interfaces, ",") + "|" + string(svc.UID)
	if a.st.l2Status[key] == sig {
		return
	}
	a.st.l2Status[key] = sig
	st.Since = metav1.NewTime(a.cfg.Clock.Now())
	obj := &v1beta1.ServiceL2Status{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceL2Status"},
		// Owned by the installation (package anchor), not the Service:
		// uninstalling Pylon removes it; a deleted Service's status is
		// deleted by the first live speaker (cleanL2Status).
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "pylon"}},
		Status: *st,
	}
	a.cfg.Status.Put(obj, 0)
}

// cleanL2Status, on the first live member, deletes the status of
// recomputed Services that were announced by some node and no longer are
// (Services never announced in L2, such as BGP ones, have none to delete).
// Deleted Services' statuses go with them (owner references).
func (a *Agent) cleanL2Status(announced map[string]bool, keys []string) {
	first := a.firstMember()
	for _, key := range keys {
		was := a.st.l2Announced[key]
		if announced[key] {
			a.st.l2Announced[key] = true
			continue
		}
		delete(a.st.l2Announced, key)
		if was && first {
			ns, name := splitKey(key) // the Service may be gone
			a.cfg.Status.Delete(&v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
		}
	}
}

// writeBGPStatus publishes this node's sessions and announcements, at
// most once per bgpStatusSpacing: until then it is not even built (that
// costs as much as the list is long), and a timer wakes the loop to do it.
func (a *Agent) writeBGPStatus() {
	if a.cfg.Status == nil || a.cfg.Namespace == "" || !a.st.selfSeen {
		return
	}
	now := a.cfg.Clock.Now()
	if now.Before(a.st.bgpStatusNext) {
		if a.st.bgpStatusTimer == nil {
			a.st.bgpStatusTimer = a.cfg.Clock.NewTimer(a.st.bgpStatusNext.Sub(now))
		}
		return
	}
	st := v1beta1.ServiceBGPStatusStatus{Node: a.cfg.NodeName, PrefixCount: len(a.st.announced)}
	if a.st.router != nil {
		for _, s := range a.st.router.Sessions() {
			ss := v1beta1.BGPSessionStatus{Peer: s.Name, Address: s.Address.String(), State: s.State.String(),
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
	for _, key := range slices.Sorted(maps.Keys(a.st.routes)) {
		ann := v1beta1.BGPServiceAnnouncement{Service: key}
		for _, r := range a.st.routes[key] {
			ann.Prefixes = append(ann.Prefixes, r.Prefix.String())
			ann.Peers = append(ann.Peers, r.Peers...)
		}
		ann.Prefixes = slices.Compact(slices.Sorted(slices.Values(ann.Prefixes)))
		ann.Peers = slices.Compact(slices.Sorted(slices.Values(ann.Peers)))
		st.Services = append(st.Services, ann)
	}
	if a.st.bgpStatus != nil && statusEqual(*a.st.bgpStatus, st) {
		return
	}
	a.st.bgpStatus = &st
	a.st.bgpStatusNext = now.Add(bgpStatusSpacing(len(st.Services)))
	obj := &v1beta1.ServiceBGPStatus{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceBGPStatus"},
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: a.cfg.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "pylon"}},
		Status: st,
	}
	a.cfg.Status.Put(obj, 0) // owned by the installation (package anchor)
}

// stopStatusTimer stops a pending status rebuild (the loop is ending).
func (a *Agent) stopStatusTimer() {
	if a.st.bgpStatusTimer != nil {
		a.st.bgpStatusTimer.Stop()
		a.st.bgpStatusTimer = nil
	}
}

// statusEqual compares two BGP statuses.
func statusEqual(x, y v1beta1.ServiceBGPStatusStatus) bool {
	return x.Node == y.Node && x.PrefixCount == y.PrefixCount && x.SessionsEstablished == y.SessionsEstablished &&
		slices.EqualFunc(x.Sessions, y.Sessions, func(p, q v1beta1.BGPSessionStatus) bool {
			return p.Peer == q.Peer && p.State == q.State && p.BFD == q.BFD && p.PrefixesSent == q.PrefixesSent &&
				p.LastError == q.LastError && p.Address == q.Address && (p.EstablishedSince == nil) == (q.EstablishedSince == nil)
		}) &&
		slices.EqualFunc(x.Services, y.Services, func(p, q v1beta1.BGPServiceAnnouncement) bool {
			return p.Service == q.Service && slices.Equal(p.Prefixes, q.Prefixes) && slices.Equal(p.Peers, q.Peers)
		})
}
