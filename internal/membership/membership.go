package membership

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Sentinel errors for callers that branch.
var (
	// ErrNotRunning: Run has not created the member list yet, or has
	// already shut it down.
	ErrNotRunning = errors.New("membership not running")
	// ErrAlreadyStarted: Run was called twice.
	ErrAlreadyStarted = errors.New("membership already started")
	// ErrLeft: this member has left the cluster and cannot join again;
	// build a new Membership.
	ErrLeft = errors.New("membership left the cluster")
)

// Member is one live (alive or suspect) member of the cluster.
type Member struct {
	// Name is the member's node name.
	Name string
	// Addr is the address and port the member gossips on.
	Addr netip.AddrPort
	// Draining: the member is stopping and should not be elected, but
	// still answers for what it owns until it leaves.
	Draining bool
	// Answering: the member has finished starting and answers for the
	// addresses it owns (SetAnswering).
	Answering bool
	// Restarting: the member is stopping to be replaced at once (a
	// rolling update: SetRestarting).
	Restarting bool
	// Interfaces are the member's usable interfaces for L2 announcements,
	// as it published them (SetInterfaces).
	Interfaces []string
	// Addrs are the families and subnets of Interfaces, in the same
	// order, when AddrsKnown.
	Addrs []InterfaceAddrs
	// AddrsKnown is false for a member that publishes no addresses: one
	// running an earlier version, which publishes names only.
	AddrsKnown bool
}

// Active returns the sorted names of the members that are not draining:
// the candidates for an election. It is pure.
func Active(members []Member) []string {
	names := make([]string, 0, len(members))
	for _, m := range members {
		if !m.Draining {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return names
}

// Membership is this speaker's view of the live speakers. Its methods are
// safe for concurrent use.
type Membership struct {
	cfg     Config
	log     *slog.Logger
	changed chan struct{} // capacity 1: "members changed"
	ready   chan struct{} // closed once Run is listening

	started    atomic.Bool
	left       atomic.Bool
	draining   atomic.Bool
	answering  atomic.Bool
	restarting atomic.Bool
	joined     atomic.Bool // a Join of a peer succeeded

	// lifeMu guards list and local. Calls into memberlist hold it for
	// reading, so Run does not shut memberlist down under them.
	lifeMu sync.RWMutex
	list   *memberlist.Memberlist // nil before Run and after shutdown
	local  netip.AddrPort

	// memMu guards the fields below. It is a leaf lock: taken inside
	// memberlist's callbacks, never held while calling memberlist.
	memMu        sync.Mutex
	members      map[string]Member
	departed     map[string]Member // left marked Restarting, not back
	stopped      bool
	peers        []netip.AddrPort
	ifaces       []InterfaceAddrs // published in our metadata
	peersChanged chan struct{}    // capacity 1: "SetPeers changed the peers"
}

// New validates cfg and returns a Membership. It starts nothing. With
// Insecure set it logs a warning.
func New(cfg Config) (*Membership, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Insecure {
		cfg.Logger.Warn("membership gossip is not encrypted", "node", cfg.NodeName)
	}
	return &Membership{
		cfg:          cfg,
		log:          cfg.Logger,
		changed:      make(chan struct{}, 1),
		ready:        make(chan struct{}),
		members:      make(map[string]Member),
		departed:     make(map[string]Member),
		peersChanged: make(chan struct{}, 1),
	}, nil
}

// Run creates the member list (binding its TCP and UDP sockets), joins the
// peers given to SetPeers and keeps rejoining missing ones, until ctx ends.
// Then it waits for joins in flight (at most TCPTimeout), leaves the
// cluster (at most LeaveTimeout), shuts memberlist down and returns nil.
// memberlist's own goroutines end shortly after. It returns an error at
// once if memberlist cannot start, and ErrAlreadyStarted if called twice.
func (m *Membership) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	list, err := m.create()
	if err != nil {
		return err
	}
	close(m.ready)
	m.log.Info("membership started", "node", m.cfg.NodeName, "addr", m.LocalAddr(),
		"encrypted", !m.cfg.Insecure, "probeInterval", m.cfg.ProbeInterval)

	var wg sync.WaitGroup
	wg.Go(func() { m.rejoinLoop(ctx) })
	<-ctx.Done()
	wg.Wait()
	return m.stop(list)
}

// create starts memberlist. It holds lifeMu so that a concurrent
// SetDraining either lands before Create reads our metadata or after
// m.list is set.
func (m *Membership) create() (*memberlist.Memberlist, error) {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	mc := m.cfg.memberlistConfig(&delegate{m: m}, newMemberlistLogger(m.log))
	list, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start memberlist on %s:%d: %w", m.cfg.BindAddr, m.cfg.BindPort, err)
	}
	self := list.LocalNode()
	addr, _ := netip.AddrFromSlice(self.Addr)
	m.list, m.local = list, netip.AddrPortFrom(addr.Unmap(), self.Port)
	return list, nil
}

// stop leaves gracefully, then shuts memberlist down.
func (m *Membership) stop(list *memberlist.Memberlist) error {
	if err := m.Leave(m.cfg.LeaveTimeout); err != nil {
		m.log.Warn("leave cluster", "err", err)
	}
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.list = nil
	m.memMu.Lock()
	m.stopped, m.members = true, nil
	m.memMu.Unlock()
	if err := list.Shutdown(); err != nil {
		return fmt.Errorf("shut down memberlist: %w", err)
	}
	m.log.Info("membership stopped", "node", m.cfg.NodeName)
	return nil
}

// Ready is closed once Run listens and LocalAddr is known. It is never
// closed if Run fails to start.
func (m *Membership) Ready() <-chan struct{} { return m.ready }

// LocalAddr returns the address and port peers reach us at (the zero
// value before Run is ready).
func (m *Membership) LocalAddr() netip.AddrPort {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	return m.local
}

// HealthScore returns memberlist's Lifeguard awareness score: 0 when our
// probes of peers are answered as expected, up to 7 when they are not (our
// own network or CPU is probably in trouble); each point stretches our
// probe interval by one ProbeInterval, slowing failure detection. It is -1
// when Run is not running. Meant for a metric.
func (m *Membership) HealthScore() int {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if m.list == nil {
		return -1
	}
	return m.list.GetHealthScore()
}

// Changed signals that Members may have changed. It has capacity 1 and is
// never closed: a receiver that drains it and then reads Members misses
// nothing.
func (m *Membership) Changed() <-chan struct{} { return m.changed }

// Members returns the live members, self included (unless we left),
// sorted by name; nil before Run and after it stopped. Draining members
// are included with Draining set; see Active.
func (m *Membership) Members() []Member {
	m.memMu.Lock()
	defer m.memMu.Unlock()
	if len(m.members) == 0 {
		return nil
	}
	out := make([]Member, 0, len(m.members))
	for _, mem := range m.members {
		out = append(out, mem)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// SetInterfaces publishes this member's usable interfaces (at most 16,
// names cut to 15 bytes) with their address families and subnets in its
// metadata, waiting up to timeout for the update to be sent. It may be
// called before Run; unchanged lists send nothing.
func (m *Membership) SetInterfaces(ifaces []InterfaceAddrs, timeout time.Duration) error {
	ifaces = normalizeInterfaces(ifaces)
	if lost := prefixesLeftOut(ifaces); lost > 0 {
		m.log.Warn("some interface subnets do not fit in the gossip metadata; peers will not elect this node for addresses in them",
			"left_out", lost)
	}
	m.memMu.Lock()
	same := m.ifaces != nil && slices.EqualFunc(m.ifaces, ifaces, sameInterfaceAddrs)
	m.ifaces = ifaces
	m.memMu.Unlock()
	if same {
		return nil
	}
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if m.list == nil || m.left.Load() {
		return nil
	}
	if err := m.list.UpdateNode(timeout); err != nil {
		return fmt.Errorf("announce interfaces %v: %w", interfaceNames(ifaces), err)
	}
	return nil
}

// normalizeInterfaces returns a copy sorted by name, with prefixes masked,
// sorted and without duplicates.
func normalizeInterfaces(ifaces []InterfaceAddrs) []InterfaceAddrs {
	out := make([]InterfaceAddrs, 0, len(ifaces))
	for _, i := range ifaces {
		ps := make([]netip.Prefix, 0, len(i.Prefixes))
		for _, p := range i.Prefixes {
			ps = append(ps, p.Masked())
		}
		slices.SortFunc(ps, comparePrefixes)
		i.Prefixes = slices.Compact(ps)
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b InterfaceAddrs) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// prefixesLeftOut returns how many prefixes of ifaces the metadata cannot
// carry.
func prefixesLeftOut(ifaces []InterfaceAddrs) int {
	want := 0
	for _, i := range ifaces[:min(len(ifaces), maxMetaInterfaces)] {
		want += len(i.Prefixes)
	}
	meta, _ := decodeMeta(encodeMeta(nodeMeta{Interfaces: ifaces, AddrsKnown: true}))
	for _, i := range meta.Interfaces {
		want -= len(i.Prefixes)
	}
	return want
}

// comparePrefixes orders prefixes by address, then length.
func comparePrefixes(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

func sameInterfaceAddrs(a, b InterfaceAddrs) bool {
	return a.Name == b.Name && a.IPv4 == b.IPv4 && a.IPv6 == b.IPv6 && slices.Equal(a.Prefixes, b.Prefixes)
}

// interfaceNames returns the interfaces' names (nil for none).
func interfaceNames(ifaces []InterfaceAddrs) []string {
	if len(ifaces) == 0 {
		return nil
	}
	out := make([]string, len(ifaces))
	for k, i := range ifaces {
		out[k] = i.Name
	}
	return out
}

// interfaces returns the published interfaces.
func (m *Membership) interfaces() []InterfaceAddrs {
	m.memMu.Lock()
	defer m.memMu.Unlock()
	return m.ifaces
}

// SetPeers sets the addresses of the speakers to join (for example every
// node's internal IP with the gossip port). It does not block: Run joins
// the peers that no member advertises at once, and retries every
// RejoinInterval. Give the addresses members advertise (AdvertiseAddr):
// another address of a member looks missing and is joined again every
// RejoinInterval (harmless, but wasted). It may be called before Run and
// whenever nodes change.
func (m *Membership) SetPeers(peers []netip.AddrPort) {
	m.memMu.Lock()
	m.peers = slices.Clone(peers)
	m.memMu.Unlock()
	select {
	case m.peersChanged <- struct{}{}:
	default:
	}
}

// Join contacts the given "host:port" addresses and merges state with
// them; it returns how many answered. Joining known members is cheap, but
// each unreachable address blocks up to TCPTimeout: call it from a
// goroutine that may block (SetPeers does not block).
func (m *Membership) Join(addrs []string) (int, error) {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if m.list == nil {
		return 0, ErrNotRunning
	}
	if m.left.Load() {
		return 0, ErrLeft
	}
	n, err := m.list.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("join %v: %w", addrs, err)
	}
	if n > 0 && !m.joined.Swap(true) {
		m.signal()
	}
	return n, nil
}

// Leave announces that we leave, so peers drop us at once rather than
// after failure detection, and waits up to timeout for the announcement to
// be gossiped. It is final: the member list keeps running until Run's
// context ends but never rejoins. Calling it again does nothing.
func (m *Membership) Leave(timeout time.Duration) error {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if m.list == nil {
		return ErrNotRunning
	}
	if m.left.Swap(true) {
		return nil
	}
	if err := m.list.Leave(timeout); err != nil {
		return fmt.Errorf("leave cluster: %w", err)
	}
	return nil
}

// SetDraining marks this member as draining (or not) in the metadata its
// peers see, and waits up to timeout for the update to be gossiped. Before
// Run it only records the flag, which Run then announces.
func (m *Membership) SetDraining(draining bool, timeout time.Duration) error {
	return m.setFlag(&m.draining, draining, "draining", timeout)
}

// SetRestarting marks this member as stopping to be replaced at once (a
// rolling update), like SetDraining: peers that see it leave so marked may
// keep it in their elections until its successor joins.
func (m *Membership) SetRestarting(restarting bool, timeout time.Duration) error {
	return m.setFlag(&m.restarting, restarting, "restarting", timeout)
}

// SetAnswering marks this member as answering for its addresses (or not),
// like SetDraining. A starting speaker that sees an answering member after
// joining knows it joined a running cluster.
func (m *Membership) SetAnswering(answering bool, timeout time.Duration) error {
	return m.setFlag(&m.answering, answering, "answering", timeout)
}

// setFlag sets one metadata flag and gossips the change.
func (m *Membership) setFlag(flag *atomic.Bool, v bool, name string, timeout time.Duration) error {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if flag.Swap(v) == v || m.list == nil || m.left.Load() {
		return nil
	}
	if err := m.list.UpdateNode(timeout); err != nil {
		return fmt.Errorf("announce %s=%t: %w", name, v, err)
	}
	return nil
}

// Joined reports whether this member has joined a peer: memberlist then
// merged that peer's whole view of the live members into ours.
func (m *Membership) Joined() bool { return m.joined.Load() }

// peerList returns a copy of the peers set by SetPeers.
func (m *Membership) peerList() []netip.AddrPort {
	m.memMu.Lock()
	defer m.memMu.Unlock()
	return slices.Clone(m.peers)
}

// setMember records a member and signals Changed; called by the delegate.
func (m *Membership) setMember(mem Member) {
	m.memMu.Lock()
	if !m.stopped {
		m.members[mem.Name] = mem
		delete(m.departed, mem.Name)
	}
	m.memMu.Unlock()
	m.signal()
}

// dropMember forgets a member (remembering it among the departed when it
// left marked Restarting) and signals Changed; called by the delegate with
// the member's last metadata.
func (m *Membership) dropMember(mem Member) {
	m.memMu.Lock()
	delete(m.members, mem.Name)
	if mem.Restarting {
		m.departed[mem.Name] = mem
	} else {
		delete(m.departed, mem.Name)
	}
	m.memMu.Unlock()
	m.signal()
}

// Departed returns the members that left marked Restarting (a rolling
// update) and have not joined again, sorted by name.
func (m *Membership) Departed() []Member {
	m.memMu.Lock()
	defer m.memMu.Unlock()
	out := make([]Member, 0, len(m.departed))
	for _, mem := range m.departed {
		out = append(out, mem)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// signal does a non-blocking send on changed.
func (m *Membership) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}
