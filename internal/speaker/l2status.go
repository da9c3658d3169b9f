package speaker

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// writeL2Status publishes, for each recomputed Service (keys) whose
// addresses this node owns, a ServiceL2Status naming this node; the first
// live member removes the status of recomputed Services nobody announces.
//
// A node that loses a Service whose status it wrote writes it once more,
// naming the new owner: its own write may have landed after the new
// owner's (a starting speaker can announce for a moment before it sees its
// peers, a speaker cut off from the API queues writes that land when it
// comes back), and nobody else would correct it. It keeps that rewrite up
// to date while the owner changes again: the rewrite may still wait in its
// queue (writes are paced), and would otherwise land naming an owner that
// is no longer one.
func (r *l2Reconciler) writeStatus(p plan.L2Plan, keys []types.NamespacedName) {
	if r.cfg.Status == nil {
		return
	}
	owners := map[types.NamespacedName]*v1beta1.ServiceL2StatusStatus{} // by Service, whoever announces
	for _, ann := range p.Announcements {
		for _, key := range ann.Services {
			st := owners[key]
			if st == nil {
				st = &v1beta1.ServiceL2StatusStatus{ServiceName: key.Name, ServiceNamespace: key.Namespace, Node: ann.Node}
				owners[key] = st
			}
			st.IPs = append(st.IPs, ann.IP.String())
			st.Interfaces = append(st.Interfaces, ann.Interfaces...)
			if ann.OffSubnet {
				st.OffSubnetIPs = append(st.OffSubnetIPs, ann.IP.String())
			}
		}
	}
	announced := map[types.NamespacedName]bool{}
	for key, st := range owners {
		announced[key] = true
		if st.Node == r.cfg.NodeName {
			delete(r.rewrites, key)
			r.putStatus(r.status, key, st)
		}
	}
	for _, key := range keys {
		st := owners[key]
		if st != nil && st.Node == r.cfg.NodeName {
			continue
		}
		_, wrote := r.status[key]
		_, rewrote := r.rewrites[key]
		// Once not ours, taking it back must write it again.
		delete(r.status, key)
		switch {
		case st == nil:
			delete(r.rewrites, key)
		case wrote || rewrote:
			r.putStatus(r.rewrites, key, st)
		}
	}
	r.cleanStatus(announced, keys)
}

// putStatus writes one Service's L2 status when it differs from the
// signature recorded in sigs (the node's own statuses, or its rewrites
// naming another owner).
func (r *l2Reconciler) putStatus(sigs map[types.NamespacedName]string, key types.NamespacedName, st *v1beta1.ServiceL2StatusStatus) {
	svc := r.view.refs[key]
	if svc == nil {
		return
	}
	slices.Sort(st.IPs)
	slices.Sort(st.OffSubnetIPs)
	slices.Sort(st.Interfaces)
	st.Interfaces = slices.Compact(st.Interfaces)
	sig := strings.Join(st.IPs, ",") + "|" + strings.Join(st.Interfaces, ",") + "|" + string(svc.UID) + "|" + st.Node +
		"|" + strings.Join(st.OffSubnetIPs, ",")
	if sigs[key] == sig {
		return
	}
	sigs[key] = sig
	st.Since = metav1.NewTime(r.cfg.Clock.Now())
	obj := &v1beta1.ServiceL2Status{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "ServiceL2Status"},
		// Owned by the installation (package anchor), not the Service:
		// uninstalling Pylon removes it; a deleted Service's status is
		// deleted by the first live speaker (cleanStatus).
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "pylon"}},
		Status: *st,
	}
	r.cfg.Status.Put(obj, 0)
}

// cleanStatus, on the first live member, deletes the status of
// recomputed Services that were announced by some node and no longer are
// (Services never announced in L2, such as BGP ones, have none to delete).
// Deleted Services' statuses go with them (owner references).
func (r *l2Reconciler) cleanStatus(announced map[types.NamespacedName]bool, keys []types.NamespacedName) {
	first := firstMember(r.cfg.Members, r.cfg.NodeName)
	for _, key := range keys {
		was := r.announced[key]
		if announced[key] {
			r.announced[key] = true
			continue
		}
		delete(r.announced, key)
		if was && first {
			// The Service may be gone: its key names the status.
			r.cfg.Status.Delete(&v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}})
		}
	}
}
