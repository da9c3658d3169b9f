package speaker

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// state is everything the loop owns.
type state struct {
	start     time.Time
	graceOver bool
	l2Open    bool // L2 announcing allowed (peers met or grace over)

	config    *model.Config
	services  map[string]plan.Service            // announceable Services by key
	refs      map[string]*corev1.ObjectReference // what events and statuses name, by Service key
	nodes     map[string]plan.Node
	self      plan.Node
	selfV4    netip.Addr
	selfV6    netip.Addr
	selfSeen  bool
	peersSet  []netip.AddrPort
	peerNodes []string // the other Nodes whose speakers this one joins
	ifaces    []string // usable interfaces last published

	l2Owned          map[netip.Addr]plan.L2Announcement
	l2               l2Track         // what the next L2 plan must recompute
	l2Members        map[string]bool // live members at the last L2 sync; nil before it
	membersChangedAt time.Time
	// away are speakers that left for a rolling update, kept in elections
	// until their deadline (awayTimer fires at the earliest); awayExpired
	// those whose time ran out while they are still departed.
	away            map[string]awayMember
	awayExpired     map[string]bool
	awayTimer       clock.Timer
	awayAt          time.Time                             // the deadline awayTimer is set for
	l2Skips         map[string]map[netip.Addr]plan.Reason // Service key -> address -> reason last reported
	l2Status        map[string]string                     // Service key -> signature of the status written
	l2Announced     map[string]bool                       // Services some node announced in L2 at the last plan
	bgpStatus       *v1beta1.ServiceBGPStatusStatus       // last written
	bgpStatusNext   time.Time                             // no rebuild before (see writeBGPStatus)
	bgpStatusTimer  clock.Timer                           // wakes the loop for a deferred rebuild
	bgpReported     map[string]plan.BGPAnnouncement       // per Service, what reportBGP last saw
	bgpReportSeeded bool                                  // reportBGP has seen every Service once
	bgpNodesSig     string                                // plan-relevant Node data at the last reportBGP

	router       Router
	routerID     netip.Addr
	routerCancel context.CancelFunc
	routerDone   chan struct{}
	peers        []bgp.PeerConfig
	routes       map[string][]plan.Route          // per Service
	byPrefix     map[netip.Prefix]map[string]bool // prefix -> contributing Services
	announced    map[netip.Prefix]plan.Path
}

// newState returns an empty state.
func newState() state {
	return state{
		services:    map[string]plan.Service{},
		refs:        map[string]*corev1.ObjectReference{},
		nodes:       map[string]plan.Node{},
		l2Owned:     map[netip.Addr]plan.L2Announcement{},
		l2:          newL2Track(),
		l2Skips:     map[string]map[netip.Addr]plan.Reason{},
		l2Status:    map[string]string{},
		l2Announced: map[string]bool{},
		routes:      map[string][]plan.Route{},
		byPrefix:    map[netip.Prefix]map[string]bool{},
		announced:   map[netip.Prefix]plan.Path{},

		bgpReported: map[string]plan.BGPAnnouncement{},
	}
}

// sync folds pending changes into the state and applies both plans.
func (a *Agent) sync(ctx, compCtx context.Context, wg *sync.WaitGroup, errs chan error) {
	p := a.takePending()
	a.st.config = p.config
	selfChanged := false
	if p.nodesChanged {
		selfChanged = a.refreshNodes(ctx)
	}
	if p.configDirty || p.nodesChanged {
		a.st.l2.full = true
	}
	changed := make([]string, 0, len(p.services))
	for key := range p.services {
		old := a.st.services[key].IPs
		a.refreshService(ctx, key)
		a.st.l2.serviceChanged(key, old, a.st.services[key].IPs)
		changed = append(changed, key)
	}
	slices.Sort(changed)
	a.publishInterfaces()
	if a.st.config == nil || !a.st.selfSeen {
		return
	}
	a.syncL2()
	// A cordoned node's routes depend on the other nodes too.
	a.syncBGP(ctx, compCtx, wg, errs, p.configDirty || selfChanged || (a.st.self.Cordoned && p.nodesChanged), changed)
	a.reportBGP(p.configDirty, p.nodesChanged, changed)
	if a.st.router != nil {
		a.collector.publishSessions(a.st.router.Sessions())
	}
	a.writeBGPStatus()
}

// refreshService re-reads one Service and its EndpointSlices.
func (a *Agent) refreshService(ctx context.Context, key string) {
	ns, name := splitKey(key)
	svc, ok := a.cfg.Cluster.Service(key)
	if !ok || !announceable(svc, a.cfg.LBClass) {
		delete(a.st.services, key)
		delete(a.st.refs, key)
		return
	}
	a.st.services[key] = serviceFrom(svc, a.cfg.Cluster.EndpointSlices(ns, name))
	a.st.refs[key] = serviceRef(svc)
}

// serviceRef is what events and status objects need of a Service: a
// reference, a fraction of the size of a copy of the object.
func serviceRef(svc *corev1.Service) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: svc.Namespace, Name: svc.Name,
		UID: svc.UID, ResourceVersion: svc.ResourceVersion}
}

// refreshNodes re-reads every Node, updates the peers to join, and reports
// whether this node's own view changed.
func (a *Agent) refreshNodes(ctx context.Context) bool {
	list := a.cfg.Cluster.Nodes()
	nodes := make(map[string]plan.Node, len(list))
	var peers []netip.AddrPort
	var peerNodes []string
	oldSelf, oldV4, oldV6 := a.st.self, a.st.selfV4, a.st.selfV6
	for _, n := range list {
		nodes[n.Name] = nodeFrom(n)
		v4, v6 := nodeAddresses(n)
		if n.Name == a.cfg.NodeName {
			a.st.self, a.st.selfV4, a.st.selfV6, a.st.selfSeen = nodes[n.Name], v4, v6, true
			continue
		}
		if addr := firstValid(v4, v6); addr.IsValid() && a.cfg.MemberPort != 0 {
			peers = append(peers, netip.AddrPortFrom(addr, a.cfg.MemberPort))
			peerNodes = append(peerNodes, n.Name)
		}
	}
	a.forgetNodes(nodes)
	a.st.nodes = nodes
	a.st.peerNodes = peerNodes
	peers = append(peers, a.cfg.ExtraPeers...)
	slices.SortFunc(peers, func(x, y netip.AddrPort) int { return x.Compare(y) })
	if !slices.Equal(peers, a.st.peersSet) {
		a.st.peersSet = peers
		a.cfg.Members.SetPeers(peers)
	}
	return !sameNode(oldSelf, a.st.self) || oldV4 != a.st.selfV4 || oldV6 != a.st.selfV6
}

// forgetNodes deletes, on the first live speaker, the BGP status of Nodes
// that are gone (the status belongs to the installation, not the Node).
func (a *Agent) forgetNodes(now map[string]plan.Node) {
	if a.cfg.Status == nil || a.cfg.Namespace == "" || !a.firstMember() {
		return
	}
	for name := range a.st.nodes {
		if _, ok := now[name]; !ok {
			a.cfg.Status.Delete(&v1beta1.ServiceBGPStatus{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: a.cfg.Namespace}})
		}
	}
}

// publishInterfaces tells the other speakers which interfaces this node
// can answer on, when that changed.
func (a *Agent) publishInterfaces() {
	var names []string
	for _, i := range a.cfg.Announcer.Interfaces() {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	if slices.Equal(names, a.st.ifaces) && a.st.ifaces != nil {
		return
	}
	a.st.ifaces = names
	if a.st.ifaces == nil {
		a.st.ifaces = []string{}
	}
	if err := a.cfg.Members.SetInterfaces(names, 200*time.Millisecond); err != nil {
		a.log.Warn("publish interfaces to peers", "interfaces", names, "error", err)
	}
}

// sameNode compares the parts of a node the plans use.
func sameNode(x, y plan.Node) bool {
	if x.Name != y.Name || x.Excluded != y.Excluded || x.Cordoned != y.Cordoned || len(x.Labels) != len(y.Labels) {
		return false
	}
	for k, v := range x.Labels {
		if w, ok := y.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// firstValid returns the first valid address.
func firstValid(addrs ...netip.Addr) netip.Addr {
	for _, a := range addrs {
		if a.IsValid() {
			return a
		}
	}
	return netip.Addr{}
}

// splitKey splits "namespace/name".
func splitKey(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
