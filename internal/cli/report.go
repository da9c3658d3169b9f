package cli

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// Event reasons the speakers write on Services (package speaker; a test
// keeps them equal).
const (
	reasonL2Announced  = "L2Announced"
	reasonL2Skipped    = "L2NotAnnounced"
	reasonBGPAnnounced = "BGPAnnounced"
	reasonBGPWithdrawn = "BGPWithdrawn"
)

// moveReasons are the events that say an address moved.
var moveReasons = []string{allocation.ReasonIPAllocated, allocation.ReasonIPReleased, reasonL2Announced, reasonBGPAnnounced, reasonBGPWithdrawn}

// Modes of announcement.
const (
	ModeL2  = "L2"
	ModeBGP = "BGP"
)

// ServiceReport is what status says of one LoadBalancer Service.
type ServiceReport struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Addresses []string `json:"addresses,omitempty"`
	// Pool is the pool the controller allocated from (its annotation).
	Pool string `json:"pool,omitempty"`
	// Modes are the announcement modes whose advertisements cover the
	// addresses.
	Modes []string `json:"modes,omitempty"`
	// L2 is the node answering ARP/NDP, from its ServiceL2Status.
	L2 *L2Owner `json:"l2,omitempty"`
	// BGP are the nodes advertising the addresses, from their
	// ServiceBGPStatus, with the sessions carrying them.
	BGP []BGPNode `json:"bgp,omitempty"`
	// LastMove is the newest event saying an address was assigned,
	// released or announced from another node.
	LastMove *Move `json:"lastMove,omitempty"`
	// Problem is what is wrong, if anything.
	Problem string `json:"problem,omitempty"`
}

// L2Owner is the node answering for a Service's addresses.
type L2Owner struct {
	Node       string      `json:"node"`
	IPs        []string    `json:"ips"`
	Interfaces []string    `json:"interfaces,omitempty"`
	Since      metav1.Time `json:"since"`
}

// BGPNode is one node advertising a Service.
type BGPNode struct {
	Node     string                     `json:"node"`
	Prefixes []string                   `json:"prefixes"`
	Sessions []v1beta1.BGPSessionStatus `json:"sessions"`
	// Since is when the node began advertising them (its status).
	Since *metav1.Time `json:"since,omitempty"`
}

// Move is an event moving a Service's addresses.
type Move struct {
	Time    metav1.Time `json:"time"`
	Reason  string      `json:"reason"`
	Message string      `json:"message"`
}

// key returns the report's Service key.
func (r *ServiceReport) key() types.NamespacedName {
	return types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
}

// report builds a Service's report from what the controller and the
// speakers published, and the problem from the same decisions they make.
func (w *world) report(svc *corev1.Service) ServiceReport {
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	r := ServiceReport{Namespace: svc.Namespace, Name: svc.Name, Pool: svc.Annotations[v1beta1.AnnotationAllocatedFromPool]}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		r.Addresses = append(r.Addresses, cmp.Or(in.IP, in.Hostname))
	}
	r.L2 = w.l2Owner(svc)
	r.BGP = w.bgpNodes(key)
	r.LastMove = w.lastEvent(svc, moveReasons...)
	if m := statusMove(&r); m != nil && (r.LastMove == nil || r.LastMove.Time.Before(&m.Time)) {
		r.LastMove = m // events expire (about an hour); the statuses do not
	}
	if w.cfg != nil {
		if ps, ok := w.planService(key); ok {
			if l2 := w.explainL2(key); covered(l2) {
				r.Modes = append(r.Modes, ModeL2)
			}
			if covered(plan.ExplainBGP(w.cfg, w.nodeList, &ps)) {
				r.Modes = append(r.Modes, ModeBGP)
			}
		}
	}
	r.Problem = w.problem(svc, &r)
	return r
}

// statusMove is the newest take-over the speakers' statuses record: the
// L2 owner's, or a node beginning to advertise the Service over BGP.
func statusMove(r *ServiceReport) *Move {
	var m *Move
	if r.L2 != nil && !r.L2.Since.IsZero() {
		m = &Move{Time: r.L2.Since, Reason: "L2Owner", Message: fmt.Sprintf("%s answers for %s", r.L2.Node, strings.Join(r.L2.IPs, ", "))}
	}
	for _, n := range r.BGP {
		if n.Since != nil && (m == nil || m.Time.Before(n.Since)) {
			m = &Move{Time: *n.Since, Reason: "BGPAdvertised", Message: fmt.Sprintf("%s advertises %s", n.Node, strings.Join(n.Prefixes, ", "))}
		}
	}
	return m
}

// covered reports whether an advertisement covers any of the addresses.
func covered(vs []plan.AddressVerdict) bool {
	return slices.ContainsFunc(vs, func(v plan.AddressVerdict) bool {
		return v.Reason != plan.ReasonNoPool && v.Reason != plan.ReasonNoAdvertisement
	})
}

// l2Owner reads the Service's ServiceL2Status.
func (w *world) l2Owner(svc *corev1.Service) *L2Owner {
	for _, st := range w.snap.l2 {
		if st.Namespace == svc.Namespace && st.Status.ServiceName == svc.Name && st.Status.Node != "" {
			return &L2Owner{Node: st.Status.Node, IPs: st.Status.IPs, Interfaces: st.Status.Interfaces, Since: st.Status.Since}
		}
	}
	return nil
}

// bgpNodes reads the nodes' ServiceBGPStatus for the Service.
func (w *world) bgpNodes(key types.NamespacedName) []BGPNode {
	var out []BGPNode
	for _, st := range w.snap.bgp {
		for _, ann := range st.Status.Services {
			if ann.Service != key.String() {
				continue
			}
			n := BGPNode{Node: st.Status.Node, Prefixes: ann.Prefixes, Since: ann.Since}
			for _, s := range st.Status.Sessions {
				if len(ann.Peers) == 0 || slices.Contains(ann.Peers, s.Peer) {
					n.Sessions = append(n.Sessions, s)
				}
			}
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(x, y BGPNode) int { return strings.Compare(x.Node, y.Node) })
	return out
}

// lastEvent returns the newest event of the Service with one of the
// reasons, or nil.
func (w *world) lastEvent(svc *corev1.Service, reasons ...string) *Move {
	var best *Move
	for i := range w.snap.events {
		e := &w.snap.events[i]
		o := e.InvolvedObject
		if o.Kind != "Service" || o.Namespace != svc.Namespace || o.Name != svc.Name ||
			(o.UID != "" && o.UID != svc.UID) || !slices.Contains(reasons, e.Reason) {
			continue
		}
		t := eventTime(e)
		if best == nil || best.Time.Before(&t) {
			best = &Move{Time: t, Reason: e.Reason, Message: e.Message}
		}
	}
	return best
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e *corev1.Event) metav1.Time {
	t := e.CreationTimestamp
	for _, c := range []metav1.Time{e.FirstTimestamp, e.LastTimestamp, metav1.Time(e.EventTime)} {
		if t.Before(&c) {
			t = c
		}
	}
	if e.Series != nil && t.Before(&metav1.Time{Time: e.Series.LastObservedTime.Time}) {
		t = metav1.Time{Time: e.Series.LastObservedTime.Time}
	}
	return t
}

// problem says what is wrong with the Service, or "".
func (w *world) problem(svc *corev1.Service, r *ServiceReport) string {
	switch {
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		return fmt.Sprintf("not served by Pylon: type %s, not LoadBalancer", svc.Spec.Type)
	case !allocation.WantsAddress(svc, w.lbClass):
		return fmt.Sprintf("not served by Pylon: loadBalancerClass %q, Pylon serves %q", ptrOr(svc.Spec.LoadBalancerClass), w.lbClass)
	}
	if w.cfgErr != nil {
		return "Pylon's configuration objects are invalid: the controller keeps its last valid configuration (see kubectl pylon validate)"
	}
	if len(r.Addresses) == 0 {
		return w.allocationProblem(svc)
	}
	if err := w.notRestored[r.key().String()]; err != nil {
		return "the controller would not keep this address: " + err.Error()
	}
	switch {
	case len(r.Modes) == 0:
		return "announced by nobody: no L2Advertisement or BGPAdvertisement covers its pool and selects it"
	case slices.Contains(r.Modes, ModeL2) && r.L2 == nil:
		return "not announced in L2: " + w.l2Why(r.key())
	case slices.Contains(r.Modes, ModeBGP) && len(r.BGP) == 0:
		return "not announced over BGP: " + w.bgpWhy(r.key())
	case len(r.BGP) > 0 && !anyEstablished(r.BGP):
		return "advertised over BGP, but no session carrying it is Established"
	}
	return ""
}

// allocationProblem explains a Service without an address: the
// controller's next decision on the rebuilt books, which is what it
// reported in its last AllocationFailed event.
func (w *world) allocationProblem(svc *corev1.Service) string {
	req, err := w.request(svc)
	if err == nil {
		_, err = w.alloc.Try(req)
	}
	if err != nil {
		return stripPrefix(err.Error())
	}
	if e := w.lastEvent(svc, allocation.ReasonAllocationFailed); e != nil {
		return e.Message
	}
	return "no address yet: the controller has not handled it (is it running?)"
}

// stripPrefix drops the allocator's "allocate an IP for service x: ".
func stripPrefix(msg string) string {
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "allocate an IP for service ") {
		return rest
	}
	return msg
}

// l2Why and bgpWhy say why the plans announce none of a Service's
// addresses.
func (w *world) l2Why(key types.NamespacedName) string {
	return firstWhy(w.explainL2(key), "no speaker has reported it yet")
}

func (w *world) bgpWhy(key types.NamespacedName) string {
	ps, _ := w.planService(key)
	return firstWhy(plan.ExplainBGP(w.cfg, w.nodeList, &ps), "no speaker has reported it yet")
}

func firstWhy(vs []plan.AddressVerdict, def string) string {
	for _, v := range vs {
		if v.Why != "" {
			return fmt.Sprintf("%s: %s", v.IP, v.Why)
		}
	}
	return def
}

func anyEstablished(nodes []BGPNode) bool {
	for _, n := range nodes {
		for _, s := range n.Sessions {
			if s.State == "Established" {
				return true
			}
		}
	}
	return false
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// addrs parses addresses, skipping what is not one.
func addrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}
