package speaker

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// view holds the inputs both modes share, as the loop last read them: the
// configuration, the announceable Services, the Nodes and this node. The
// reconcilers read it and never write it.
type view struct {
	config    *model.Config
	services  map[types.NamespacedName]plan.Service // announceable Services
	refs      map[types.NamespacedName]*corev1.ObjectReference
	nodes     map[string]plan.Node
	self      plan.Node
	selfV4    netip.Addr
	selfV6    netip.Addr
	selfSeen  bool
	peersSet  []netip.AddrPort
	peerNodes []string                    // the other Nodes whose speakers this one joins
	ifaces    []membership.InterfaceAddrs // usable interfaces last published (nil before)
}

// changes is what one update of the view changed.
type changes struct {
	// config is set when a new configuration arrived.
	config bool
	// nodes is set when any Node changed; self when this node's own view
	// (labels, exclusion, cordon, addresses) did.
	nodes, self bool
	// goneNodes are the Nodes deleted.
	goneNodes []string
	// services are the Services re-read, sorted; old holds their
	// addresses before.
	services []types.NamespacedName
	old      map[types.NamespacedName][]netip.Addr
}

// newView returns an empty view.
func newView() view {
	return view{
		services: map[types.NamespacedName]plan.Service{},
		refs:     map[types.NamespacedName]*corev1.ObjectReference{},
		nodes:    map[string]plan.Node{},
	}
}

// update folds pending changes into the view, reading the cluster through
// a's seams.
func (v *view) update(a *Agent, p pending) changes {
	v.config = p.config
	ch := changes{config: p.configDirty, nodes: p.nodesChanged, old: map[types.NamespacedName][]netip.Addr{}}
	if p.nodesChanged {
		ch.self, ch.goneNodes = v.refreshNodes(a)
	}
	for key := range p.services {
		ch.old[key] = v.services[key].IPs
		v.refreshService(a, key)
		ch.services = append(ch.services, key)
	}
	slices.SortFunc(ch.services, plan.CompareKeys)
	return ch
}

// refreshService re-reads one Service and its EndpointSlices.
func (v *view) refreshService(a *Agent, key types.NamespacedName) {
	svc, ok := a.cfg.Cluster.Service(key)
	if !ok || !plan.Announceable(svc, a.cfg.LBClass) {
		delete(v.services, key)
		delete(v.refs, key)
		return
	}
	v.services[key] = plan.ServiceFrom(svc, a.cfg.Cluster.EndpointSlices(key))
	v.refs[key] = serviceRef(svc)
}

// serviceRef is what events and status objects need of a Service: a
// reference, a fraction of the size of a copy of the object.
func serviceRef(svc *corev1.Service) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: svc.Namespace, Name: svc.Name,
		UID: svc.UID, ResourceVersion: svc.ResourceVersion}
}

// refreshNodes re-reads every Node, updates the peers to join, and reports
// whether this node's own view changed and which Nodes are gone.
func (v *view) refreshNodes(a *Agent) (selfChanged bool, gone []string) {
	list := a.cfg.Cluster.Nodes()
	nodes := make(map[string]plan.Node, len(list))
	var peers []netip.AddrPort
	var peerNodes []string
	oldSelf, oldV4, oldV6 := v.self, v.selfV4, v.selfV6
	for _, n := range list {
		nodes[n.Name] = plan.NodeFrom(n)
		v4, v6 := nodeAddresses(n)
		if n.Name == a.cfg.NodeName {
			v.self, v.selfV4, v.selfV6, v.selfSeen = nodes[n.Name], v4, v6, true
			continue
		}
		if addr := firstValid(v4, v6); addr.IsValid() && a.cfg.MemberPort != 0 {
			peers = append(peers, netip.AddrPortFrom(addr, a.cfg.MemberPort))
			peerNodes = append(peerNodes, n.Name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(v.nodes)) {
		if _, ok := nodes[name]; !ok {
			gone = append(gone, name)
		}
	}
	v.nodes = nodes
	v.peerNodes = peerNodes
	peers = append(peers, a.cfg.ExtraPeers...)
	slices.SortFunc(peers, func(x, y netip.AddrPort) int { return x.Compare(y) })
	if !slices.Equal(peers, v.peersSet) {
		v.peersSet = peers
		a.cfg.Members.SetPeers(peers)
	}
	return !reflect.DeepEqual(oldSelf, v.self) || oldV4 != v.selfV4 || oldV6 != v.selfV6, gone
}

// publishInterfaces tells the other speakers which interfaces this node
// can answer on, with their address families and subnets, when that
// changed.
func (a *Agent) publishInterfaces() {
	ifaces := []membership.InterfaceAddrs{}
	for _, i := range a.cfg.Announcer.Interfaces() {
		ifaces = append(ifaces, membership.InterfaceAddrs{Name: i.Name, IPv4: i.HasIPv4, IPv6: i.HasIPv6,
			Prefixes: slices.Clone(i.Prefixes)})
	}
	slices.SortFunc(ifaces, func(x, y membership.InterfaceAddrs) int { return strings.Compare(x.Name, y.Name) })
	if a.view.ifaces != nil && reflect.DeepEqual(ifaces, a.view.ifaces) {
		return
	}
	a.view.ifaces = ifaces
	if err := a.cfg.Members.SetInterfaces(ifaces, 200*time.Millisecond); err != nil {
		a.log.Warn("publish interfaces to peers", "interfaces", len(ifaces), "error", err)
	}
	if a.cfg.PublishInterfaces != nil {
		a.cfg.PublishInterfaces(speakerInterfaces(ifaces))
	}
}

// speakerInterfaces converts interfaces for the ConfigurationState.
func speakerInterfaces(ifaces []membership.InterfaceAddrs) []v1beta1.SpeakerInterface {
	out := make([]v1beta1.SpeakerInterface, len(ifaces))
	for i, x := range ifaces {
		out[i] = v1beta1.SpeakerInterface{Name: x.Name, IPv4: x.IPv4, IPv6: x.IPv6}
		for _, p := range x.Prefixes {
			out[i].Subnets = append(out[i].Subnets, p.String())
		}
	}
	return out
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

// unionKeys returns the keys of both maps.
func unionKeys[K comparable, V1, V2 any](x map[K]V1, y map[K]V2) map[K]bool {
	out := make(map[K]bool, len(x)+len(y))
	for k := range x {
		out[k] = true
	}
	for k := range y {
		out[k] = true
	}
	return out
}
