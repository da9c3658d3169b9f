package cli

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/ipam"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// anyInterface stands for the interfaces of a speaker that publishes none
// in its ConfigurationState (one of an earlier version): the plugin then
// assumes every interface an L2Advertisement names.
const anyInterface = "(any)"

// world is a snapshot turned into the inputs of the controller's and the
// speakers' pure decisions: the configuration, the controller's books
// rebuilt from the Services' status as the controller rebuilds them when
// it starts, and the plans' views of Services, Nodes and speakers.
type world struct {
	snap    *snapshot
	lbClass string
	cfg     *model.Config // nil when the configuration objects are invalid
	cfgErr  error
	alloc   *ipam.Allocator
	// notRestored are the Services whose status addresses the controller
	// would not keep, and why.
	notRestored map[string]error
	services    map[types.NamespacedName]*corev1.Service
	planSvcs    []plan.Service // announceable Services, by key
	nodes       map[string]plan.Node
	nodeList    []plan.Node // by name
	members     []plan.Member
	// membersFromStates: no speaker pod was found; the speakers with a
	// ConfigurationState are taken as live.
	membersFromStates bool
	// l2Plan caches the L2 plan of planSvcs (nil: not computed yet).
	l2Plan *plan.L2Plan
	// settled are the addresses settle gave each Service the controller
	// serves.
	settled map[types.NamespacedName][]netip.Addr
}

// newWorld builds the world of a snapshot, with cfg as the configuration
// (nil: the snapshot's own objects).
func newWorld(s *snapshot, lbClass string, cfg *model.Config) *world {
	w := &world{snap: s, lbClass: lbClass, cfg: cfg, alloc: ipam.New(), notRestored: map[string]error{},
		services: map[types.NamespacedName]*corev1.Service{}, nodes: map[string]plan.Node{}}
	if w.cfg == nil {
		w.cfg, w.cfgErr = model.From(s.objects)
	}
	for i := range s.services {
		svc := &s.services[i]
		w.services[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}] = svc
	}
	for i := range s.nodes {
		n := plan.NodeFrom(&s.nodes[i])
		w.nodes[n.Name] = n
		w.nodeList = append(w.nodeList, n)
	}
	slices.SortFunc(w.nodeList, func(x, y plan.Node) int { return cmp.Compare(x.Name, y.Name) })
	w.members, w.membersFromStates = speakerMembers(s.speaker, s.states, w.cfg)
	if w.cfg == nil {
		return w
	}
	w.restore()
	w.planSvcs = w.planServices(func(svc *corev1.Service) []netip.Addr { return nil })
	return w
}

// restore fills the allocator as the controller does when it starts.
func (w *world) restore() {
	if err := w.alloc.SetPools(allocation.IPAMPools(w.cfg)); err != nil {
		w.cfgErr = err
		return
	}
	// Reserved before restored, as the controller does.
	if err := w.alloc.SetReserved(allocation.IPAMReservations(allocation.ReservationsFor(w.cfg, w.snap.nodes, w.snap.states))); err != nil {
		w.cfgErr = err
		return
	}
	_, failed := allocation.Restore(w.alloc, w.cfg, w.snap.services, w.lbClass, w.nsLabels)
	for _, f := range failed {
		w.notRestored[f.Key] = f.Err
	}
}

// nsLabels returns a namespace's labels.
func (w *world) nsLabels(ns string) map[string]string { return w.snap.namespaces[ns] }

// planServices converts the announceable Services; ips, when it returns
// addresses, overrides a Service's status addresses.
func (w *world) planServices(ips func(*corev1.Service) []netip.Addr) []plan.Service {
	var out []plan.Service
	for i := range w.snap.services {
		svc := &w.snap.services[i]
		key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		ps := plan.ServiceFrom(svc, w.snap.slices[key])
		if over := ips(svc); over != nil {
			ps.IPs = over
		}
		if len(ps.IPs) == 0 || !plan.Announceable(withIngress(svc), w.lbClass) {
			continue
		}
		out = append(out, ps)
	}
	slices.SortFunc(out, func(x, y plan.Service) int { return plan.CompareKeys(x.Key, y.Key) })
	return out
}

// withIngress returns the Service with a placeholder ingress when it has
// none, so Announceable judges only its type and class.
func withIngress(svc *corev1.Service) *corev1.Service {
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		return svc
	}
	c := svc.DeepCopy()
	c.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "0.0.0.0"}}
	return c
}

// speakerMembers are the nodes of the running, ready speaker pods, with
// the usable interfaces, families and subnets each speaker publishes in
// its ConfigurationState (what it gossips for the L2 election); a speaker
// that publishes none is assumed to have every interface the
// L2Advertisements name and to be on every subnet. Without any speaker
// pod (speakers run outside a DaemonSet), the speakers that published a
// ConfigurationState are taken as live, and fromStates says so.
func speakerMembers(pods []corev1.Pod, states []v1beta1.ConfigurationState, cfg *model.Config) (out []plan.Member, fromStates bool) {
	published := map[string][]v1beta1.SpeakerInterface{}
	var live []string
	for _, st := range states {
		if st.Status.Component == "speaker" && st.Status.Node != "" {
			published[st.Status.Node] = st.Status.Interfaces
			live = append(live, st.Status.Node)
		}
	}
	if len(pods) > 0 {
		live = nil
		for _, p := range pods {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning && podReady(&p) && p.DeletionTimestamp.IsZero() {
				live = append(live, p.Spec.NodeName)
			}
		}
	}
	ifaces := []string{anyInterface}
	if cfg != nil {
		for _, a := range cfg.L2Advertisements {
			ifaces = append(ifaces, a.Interfaces...)
		}
	}
	slices.Sort(ifaces)
	ifaces = slices.Compact(ifaces)
	for _, node := range live {
		m := plan.Member{Name: node, Interfaces: ifaces}
		if pub := published[node]; len(pub) > 0 {
			m.Interfaces, m.Addrs, m.AddrsKnown = nil, make([]plan.InterfaceAddrs, len(pub)), true
			for i, x := range pub {
				m.Interfaces = append(m.Interfaces, x.Name)
				m.Addrs[i] = plan.InterfaceAddrs{Name: x.Name, IPv4: x.IPv4, IPv6: x.IPv6}
				for _, sn := range x.Subnets {
					if pfx, err := netip.ParsePrefix(sn); err == nil {
						m.Addrs[i].Prefixes = append(m.Addrs[i].Prefixes, pfx)
					}
				}
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(x, y plan.Member) int { return cmp.Compare(x.Name, y.Name) })
	return slices.CompactFunc(out, func(x, y plan.Member) bool { return x.Name == y.Name }), len(pods) == 0 && len(out) > 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// l2Input is the L2 plan's input for the world's Services.
func (w *world) l2Input(svcs []plan.Service) plan.L2Input {
	return plan.L2Input{Config: w.cfg, Services: svcs, Nodes: w.nodes, Members: w.members}
}

// explainL2 explains one Service's L2 announcement, computing the L2
// plan of the world's Services once.
func (w *world) explainL2(key types.NamespacedName) []plan.AddressVerdict {
	in := w.l2Input(w.planSvcs)
	if w.l2Plan == nil {
		p := plan.L2(in)
		w.l2Plan = &p
	}
	return plan.ExplainL2Plan(in, *w.l2Plan, key)
}

// planService returns the plan's view of one Service, with its status
// addresses.
func (w *world) planService(key types.NamespacedName) (plan.Service, bool) {
	i, ok := slices.BinarySearchFunc(w.planSvcs, key, func(s plan.Service, k types.NamespacedName) int { return plan.CompareKeys(s.Key, k) })
	if !ok {
		return plan.Service{}, false
	}
	return w.planSvcs[i], true
}

// request is the controller's allocation request for a Service. The
// namespace's labels only matter to pools selecting namespaces by label.
func (w *world) request(svc *corev1.Service) (ipam.Request, error) {
	return allocation.RequestFor(svc, w.nsLabels(svc.Namespace))
}
