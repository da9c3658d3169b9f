// Package speakertest provides in-memory stand-ins for the speaker's
// membership and L2 components, so the agent's Kubernetes side can be
// tested against a real API server without gossip or raw sockets.
package speakertest

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pylonlb/pylon/internal/heartbeat"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
)

// Cluster is a set of fake members that see each other at once.
type Cluster struct {
	mu       sync.Mutex
	members  map[string]*Members
	departed map[string]membership.Member // left marked restarting
	joined   byte                         // members made, for their addresses
}

// NewCluster returns an empty cluster.
func NewCluster() *Cluster {
	return &Cluster{members: map[string]*Members{}, departed: map[string]membership.Member{}}
}

// Join returns a member of the cluster; like memberlist's, it is alive
// from its Run until Kill or the end of Run. Members gossip at 10.0.0.N
// (N in the order they were made), port 7946.
func (c *Cluster) Join(name string) *Members {
	c.mu.Lock()
	c.joined++
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, c.joined}), 7946)
	c.mu.Unlock()
	return &Members{cluster: c, name: name, addr: addr, changed: make(chan struct{}, 1)}
}

// Kill removes a member at once, as memberlist declaring it dead.
func (c *Cluster) Kill(name string) {
	c.mu.Lock()
	if m := c.members[name]; m != nil {
		m.mu.Lock()
		if m.restarting {
			c.departed[name] = m.member()
		} else {
			delete(c.departed, name)
		}
		m.mu.Unlock()
	}
	delete(c.members, name)
	c.mu.Unlock()
	c.notify()
}

// notify signals every member.
func (c *Cluster) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
}

// Members is one fake member; it satisfies the speaker's Members seam.
type Members struct {
	cluster *Cluster
	name    string
	addr    netip.AddrPort
	changed chan struct{}

	mu         sync.Mutex
	draining   bool
	answering  bool
	restarting bool
	joined     bool // met another member while in the cluster
	interfaces []membership.InterfaceAddrs
	peers      []netip.AddrPort
}

// Run joins the cluster, waits for ctx, then leaves it.
func (m *Members) Run(ctx context.Context) error {
	m.cluster.mu.Lock()
	m.cluster.members[m.name] = m
	delete(m.cluster.departed, m.name)
	m.cluster.mu.Unlock()
	m.cluster.notify()
	<-ctx.Done()
	m.cluster.Kill(m.name)
	return nil
}

// Members returns the live members sorted by name.
func (m *Members) Members() []membership.Member {
	m.cluster.mu.Lock()
	all := slices.Sorted(maps.Keys(m.cluster.members))
	ms := make([]*Members, len(all))
	for i, n := range all {
		ms[i] = m.cluster.members[n]
	}
	m.cluster.mu.Unlock()
	out := make([]membership.Member, 0, len(ms))
	for _, x := range ms {
		x.mu.Lock()
		out = append(out, x.member())
		x.mu.Unlock()
	}
	return out
}

// member returns what the others see of m; m.mu must be held.
func (m *Members) member() membership.Member {
	mem := membership.Member{Name: m.name, Addr: m.addr, Draining: m.draining, Answering: m.answering,
		Restarting: m.restarting, Addrs: slices.Clone(m.interfaces), AddrsKnown: true}
	for _, i := range m.interfaces {
		mem.Interfaces = append(mem.Interfaces, i.Name)
	}
	return mem
}

// Departed returns the members that left marked restarting and have not
// joined again, sorted by name.
func (m *Members) Departed() []membership.Member {
	m.cluster.mu.Lock()
	defer m.cluster.mu.Unlock()
	out := make([]membership.Member, 0, len(m.cluster.departed))
	for _, n := range slices.Sorted(maps.Keys(m.cluster.departed)) {
		out = append(out, m.cluster.departed[n])
	}
	return out
}

// Changed signals membership changes.
func (m *Members) Changed() <-chan struct{} { return m.changed }

// SetInterfaces publishes interfaces.
func (m *Members) SetInterfaces(ifaces []membership.InterfaceAddrs, _ time.Duration) error {
	m.mu.Lock()
	m.interfaces = slices.Clone(ifaces)
	m.mu.Unlock()
	m.cluster.notify()
	return nil
}

// SetDraining publishes the draining flag.
func (m *Members) SetDraining(d bool, _ time.Duration) error { return m.setFlag(&m.draining, d) }

// SetRestarting publishes the restarting flag.
func (m *Members) SetRestarting(v bool, _ time.Duration) error { return m.setFlag(&m.restarting, v) }

// SetAnswering publishes the answering flag.
func (m *Members) SetAnswering(v bool, _ time.Duration) error { return m.setFlag(&m.answering, v) }

// setFlag sets one of m's flags under its lock and tells every member.
func (m *Members) setFlag(flag *bool, v bool) error {
	m.mu.Lock()
	*flag = v
	m.mu.Unlock()
	m.cluster.notify()
	return nil
}

// Joined reports whether this member, while in the cluster, has had
// another member to join, as memberlist's Join of a live peer.
func (m *Members) Joined() bool {
	m.cluster.mu.Lock()
	in, others := m.cluster.members[m.name] == m, len(m.cluster.members) > 1
	m.cluster.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.joined = m.joined || (in && others)
	return m.joined
}

// SetPeers records the peers to join.
func (m *Members) SetPeers(p []netip.AddrPort) {
	m.mu.Lock()
	m.peers = slices.Clone(p)
	m.mu.Unlock()
}

// Peers returns the peers last set.
func (m *Members) Peers() []netip.AddrPort {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.peers)
}

// Announcer is a fake L2 announcer with one interface, eth0.
type Announcer struct {
	changed chan struct{}
	foreign chan l2.ForeignSighting

	mu          sync.Mutex
	ifaces      []l2.Interface
	announce    map[netip.Addr][]string
	ever        map[netip.Addr]bool
	watched     []netip.Addr
	reannounced int
	seg         *Segment // nil: alone
	mac         net.HardwareAddr
}

// NewAnnouncer returns a fake with interface eth0, alone on its segment.
func NewAnnouncer() *Announcer {
	return &Announcer{changed: make(chan struct{}, 1), foreign: make(chan l2.ForeignSighting, 64),
		ifaces: []l2.Interface{Interface("eth0", "0.0.0.0/0", "::/0")}}
}

// Segment is a shared LAN for fake announcers: an announcer that starts
// announcing an address "sends a gratuitous ARP", which every other
// announcer on the segment that announces or watches the address sees as
// a foreign sighting, as real announcers do.
type Segment struct {
	mu   sync.Mutex
	all  []*Announcer
	macs byte
}

// NewSegment returns an empty segment.
func NewSegment() *Segment { return &Segment{} }

// Announcer returns a new fake announcer on the segment.
func (s *Segment) Announcer() *Announcer {
	a := NewAnnouncer()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.macs++
	a.seg, a.mac = s, net.HardwareAddr{2, 0, 0, 0, 0, s.macs}
	s.all = append(s.all, a)
	return a
}

// claim delivers the claim of ips by from to the others that announce or
// watch them.
func (s *Segment) claim(from *Announcer, ips []netip.Addr) {
	s.mu.Lock()
	others := slices.Clone(s.all)
	s.mu.Unlock()
	for _, o := range others {
		if o == from {
			continue
		}
		for _, ip := range ips {
			if o.listens(ip) {
				select {
				case o.foreign <- l2.ForeignSighting{IP: ip, Interface: "eth0", MAC: from.mac, Protocol: l2.ProtocolARP}:
				default:
				}
			}
		}
	}
}

// listens reports whether the announcer announces or watches ip.
func (a *Announcer) listens(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, announced := a.announce[ip]
	return announced || slices.Contains(a.watched, ip)
}

// Run waits for ctx.
func (a *Announcer) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// SetAnnouncements records what is announced; on a segment, the others
// see the new addresses claimed.
func (a *Announcer) SetAnnouncements(want map[netip.Addr][]string) {
	a.mu.Lock()
	var claimed []netip.Addr
	for ip := range want {
		if _, had := a.announce[ip]; !had {
			claimed = append(claimed, ip)
		}
	}
	a.announce = maps.Clone(want)
	if a.ever == nil {
		a.ever = map[netip.Addr]bool{}
	}
	for ip := range want {
		a.ever[ip] = true
	}
	seg := a.seg
	a.mu.Unlock()
	if seg != nil && len(claimed) > 0 {
		seg.claim(a, claimed)
	}
}

// EverAnnounced reports whether ip was ever announced.
func (a *Announcer) EverAnnounced(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ever[ip]
}

// SetWatched records the watched addresses.
func (a *Announcer) SetWatched(ips []netip.Addr) {
	a.mu.Lock()
	a.watched = slices.Clone(ips)
	a.mu.Unlock()
}

// Interfaces returns the fake's interfaces.
func (a *Announcer) Interfaces() []l2.Interface {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ifaces)
}

// SetInterfaces replaces the interfaces with named ones on every subnet
// (prefixes 0.0.0.0/0 and ::/0) and signals Changed.
func (a *Announcer) SetInterfaces(names ...string) {
	var ifaces []l2.Interface
	for _, n := range names {
		ifaces = append(ifaces, Interface(n, "0.0.0.0/0", "::/0"))
	}
	a.SetInterfaceList(ifaces...)
}

// Interface returns a usable interface with the given subnets.
func Interface(name string, prefixes ...string) l2.Interface {
	i := l2.Interface{Name: name, Multicast: true}
	for _, p := range prefixes {
		pfx := netip.MustParsePrefix(p)
		i.Prefixes = append(i.Prefixes, pfx)
		i.HasIPv4, i.HasIPv6 = i.HasIPv4 || pfx.Addr().Is4(), i.HasIPv6 || pfx.Addr().Is6()
	}
	return i
}

// SetInterfaceList replaces the interfaces and signals Changed.
func (a *Announcer) SetInterfaceList(ifaces ...l2.Interface) {
	a.mu.Lock()
	a.ifaces = slices.Clone(ifaces)
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// Changed signals interface changes.
func (a *Announcer) Changed() <-chan struct{} { return a.changed }

// Listed is closed: the fake's interfaces are known from the start.
func (a *Announcer) Listed() <-chan struct{} { return closedChan }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Foreign delivers injected sightings.
func (a *Announcer) Foreign() <-chan l2.ForeignSighting { return a.foreign }

// Sight injects a sighting of another host claiming ip.
func (a *Announcer) Sight(ip netip.Addr) { a.foreign <- l2.ForeignSighting{IP: ip, Interface: "eth0"} }

// Reannounce counts the calls.
func (a *Announcer) Reannounce() {
	a.mu.Lock()
	a.reannounced++
	a.mu.Unlock()
}

// Reannounced returns how many times Reannounce was called.
func (a *Announcer) Reannounced() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reannounced
}

// Stats returns empty counters.
func (a *Announcer) Stats() l2.Stats { return l2.Stats{} }

// Announced returns the announced addresses and their interfaces.
func (a *Announcer) Announced() map[netip.Addr][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.announce)
}

// Detector is a fake fast failure detector: the test says which nodes it
// counts dead.
type Detector struct {
	changed chan struct{}

	mu    sync.Mutex
	dead  []string
	peers map[string]netip.AddrPort
}

// NewDetector returns a fake that counts nobody dead.
func NewDetector() *Detector { return &Detector{changed: make(chan struct{}, 1)} }

// Run waits for ctx.
func (d *Detector) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// SetPeers records the peers.
func (d *Detector) SetPeers(peers map[string]netip.AddrPort) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.peers = maps.Clone(peers)
}

// Peers returns the peers last set.
func (d *Detector) Peers() map[string]netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.peers)
}

// Dead returns the nodes counted dead.
func (d *Detector) Dead() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dead)
}

// SetDead replaces the nodes counted dead and signals Changed.
func (d *Detector) SetDead(names ...string) {
	d.mu.Lock()
	d.dead = slices.Clone(names)
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// Changed signals verdict changes.
func (d *Detector) Changed() <-chan struct{} { return d.changed }

// Stats returns empty counters.
func (d *Detector) Stats() heartbeat.Stats { return heartbeat.Stats{} }
