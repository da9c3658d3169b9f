// Package speaker is Pylon's per-node agent. It watches Services,
// EndpointSlices, Nodes and the configuration, learns the live speakers
// through membership, and makes this node announce what the pure plans in
// package plan say: ARP/NDP answers for the addresses it owns in L2 mode,
// BGP routes in BGP mode.
//
// One loop owns all state. Informer handlers, the configuration watcher,
// membership, the L2 announcer and the BGP speaker only mark what changed
// and signal the loop. The loop folds the changes into the inputs both
// modes share (view: configuration, Services, Nodes, this node), opens
// once the speaker has met its peers (gate), then hands the inputs to two
// reconcilers that share nothing else: l2Reconciler (election, ARP/NDP,
// L2 statuses and events) and bgpReconciler (routes, sessions, BGP status
// and events). The BGP router's lifecycle belongs to routerSupervisor,
// which Run starts like the other components.
package speaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/pace"
)

// Members is the membership seam (membership.Membership satisfies it).
type Members interface {
	Run(ctx context.Context) error
	Members() []membership.Member
	Changed() <-chan struct{}
	SetInterfaces(ifaces []membership.InterfaceAddrs, timeout time.Duration) error
	SetDraining(draining bool, timeout time.Duration) error
	SetAnswering(answering bool, timeout time.Duration) error
	SetRestarting(restarting bool, timeout time.Duration) error
	Departed() []membership.Member
	Joined() bool
	SetPeers(peers []netip.AddrPort)
}

// Announcer is the L2 seam (l2.Announcer satisfies it).
type Announcer interface {
	Run(ctx context.Context) error
	SetAnnouncements(want map[netip.Addr][]string)
	SetWatched(ips []netip.Addr)
	Interfaces() []l2.Interface
	Listed() <-chan struct{}
	Changed() <-chan struct{}
	Foreign() <-chan l2.ForeignSighting
	Stats() l2.Stats
	Reannounce()
}

// Router is the BGP seam (bgp.Server satisfies it).
type Router interface {
	bgp.Speaker
	Run(ctx context.Context) error
}

// Config configures an Agent.
type Config struct {
	// NodeName is this node's name.
	NodeName string
	// Namespace is Pylon's install namespace (per-node status lives there).
	Namespace string
	// Status writes status objects; nil writes none.
	Status StatusWriter
	// LBClass is the loadBalancerClass served; "" serves Services without one.
	LBClass string
	// Cluster reads Services, EndpointSlices and Nodes and delivers their
	// changes (a Cluster whose informers have synced).
	Cluster ClusterView
	// Recorder emits events on Services.
	Recorder pace.EventRecorder
	// Members, Announcer: the membership and L2 components; the agent runs them.
	Members   Members
	Announcer Announcer
	// Detector, when set, is the fast failure detector (the agent runs
	// it); DetectorPort is its port on every node.
	Detector     Detector
	DetectorPort uint16
	// NewRouter builds the BGP component once the router ID is known (the
	// first time this node has BGP sessions); the agent runs it.
	NewRouter func(routerID netip.Addr) (Router, error)
	// MemberPort is the gossip port of every speaker, to join the speakers
	// of the Nodes' internal addresses.
	MemberPort uint16
	// ExtraPeers are joined in addition to the Nodes' addresses.
	ExtraPeers []netip.AddrPort
	// StartupGrace bounds how long a starting speaker waits to meet its
	// peers before it answers ARP/NDP alone (it would otherwise claim every
	// address while it still believes it is the only member). Default 3s.
	StartupGrace time.Duration
	// HandoffTimeout bounds how long a stopping speaker keeps answering for
	// its addresses while waiting for their new owners to announce them.
	// Default 2s.
	HandoffTimeout time.Duration
	// RestartGrace is how long the others keep a speaker that stopped for
	// a rolling update in their elections (nobody takes its addresses
	// while its node still forwards, and its successor announces them
	// again), before they elect without it. 0 disables: every stop hands
	// the addresses over.
	RestartGrace time.Duration
	// GracefulShutdown is how long a stopping speaker keeps its BGP
	// sessions after re-announcing its paths with the GRACEFUL_SHUTDOWN
	// community (RFC 8326), so routers move traffic to other nodes before
	// the sessions close. 0 disables: sessions close at once.
	GracefulShutdown time.Duration
	// Rolling tells, when the agent stops, whether a successor replaces
	// this speaker at once (its DaemonSet is rolling out); nil means never.
	Rolling func() bool
	// PublishInterfaces, when set, receives this node's usable interfaces
	// whenever they change (from the agent's loop; it must not block), to
	// publish them beside the gossip (the ConfigurationState).
	PublishInterfaces func([]v1beta1.SpeakerInterface)
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Clock is injected for tests; nil means the real clock.
	Clock clock.WithTicker
}

// Agent is the speaker's core. Build it with New and run it with Run.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	metrics   *metrics
	collector *collector
	wake      chan struct{} // capacity 1: inputs changed

	inMu sync.Mutex // guards the pending inputs below
	in   pending

	// Owned by Run's loop.
	view    view
	gate    gate
	l2      *l2Reconciler
	bgp     *bgpReconciler
	routers *routerSupervisor
	// detectorPeers are the peers last given to the detector.
	detectorPeers map[string]netip.AddrPort
}

// pending is what changed since the loop last looked.
type pending struct {
	config       *model.Config // newest valid configuration, nil if none yet
	configDirty  bool
	services     map[types.NamespacedName]struct{} // Services to re-read
	nodesChanged bool
}

// New validates the configuration. It starts nothing.
func New(cfg Config) (*Agent, error) {
	if cfg.NodeName == "" || cfg.Cluster == nil || cfg.Recorder == nil || cfg.Members == nil || cfg.Announcer == nil || cfg.NewRouter == nil {
		return nil, errors.New("speaker: NodeName, Cluster, Recorder, Members, Announcer and NewRouter are required")
	}
	if cfg.StartupGrace == 0 {
		cfg.StartupGrace = 3 * time.Second
	}
	if cfg.HandoffTimeout == 0 {
		cfg.HandoffTimeout = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registerer),
		wake:    make(chan struct{}, 1),
		in:      pending{services: map[types.NamespacedName]struct{}{}},
		view:    newView(),
	}
	a.collector = newCollector(a)
	a.routers = newRouterSupervisor(cfg.NewRouter)
	a.l2 = newL2Reconciler(&a.cfg, &a.view, a.metrics)
	a.bgp = newBGPReconciler(&a.cfg, &a.view, a.metrics, a.routers)
	a.bgp.publishSessions = a.collector.publishSessions
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(a.collector)
	}
	return a, nil
}

// SetConfig hands the agent a new valid configuration. It is configwatch's
// OnConfig and never blocks.
func (a *Agent) SetConfig(_ context.Context, cfg *model.Config) {
	a.inMu.Lock()
	a.in.config, a.in.configDirty = cfg, true
	a.inMu.Unlock()
	a.signal()
}

// signal wakes the loop without blocking.
func (a *Agent) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// markService records a Service to re-read and wakes the loop.
func (a *Agent) markService(key types.NamespacedName) {
	a.inMu.Lock()
	a.in.services[key] = struct{}{}
	a.inMu.Unlock()
	a.signal()
}

// markNodes records that Nodes changed and wakes the loop.
func (a *Agent) markNodes() {
	a.inMu.Lock()
	a.in.nodesChanged = true
	a.inMu.Unlock()
	a.signal()
}

// takePending returns and clears what changed.
func (a *Agent) takePending() pending {
	a.inMu.Lock()
	defer a.inMu.Unlock()
	p := a.in
	a.in = pending{config: p.config, services: map[types.NamespacedName]struct{}{}}
	return p
}

// Run runs the agent and its components (membership, the L2 announcer,
// the BGP router supervisor) until ctx ends, then hands the node's L2
// addresses over to their new owners (bounded by HandoffTimeout) while BGP
// routers move traffic away (GracefulShutdown), leaves the cluster and
// stops.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.cfg.Cluster.Subscribe(a.markService, a.markNodes); err != nil {
		return err
	}
	compCtx, stopComponents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopComponents()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	a.runComponent(compCtx, &wg, errs, "l2", a.cfg.Announcer.Run)
	a.runComponent(compCtx, &wg, errs, "bgp", a.routers.Run)
	if a.cfg.Detector != nil {
		a.runComponent(compCtx, &wg, errs, "heartbeat", a.cfg.Detector.Run)
	}
	a.gate.start = a.cfg.Clock.Now()
	// Peers elect among members with their published interfaces: a member
	// that joined before its interfaces were read would look unable to
	// answer, lose its addresses to another node and take them back.
	a.awaitInterfaces(ctx)
	a.publishInterfaces()
	a.runComponent(compCtx, &wg, errs, "membership", a.cfg.Members.Run)
	err := a.loop(ctx, errs)
	// L2 hand-over and BGP graceful shutdown share nothing and both wait:
	// side by side, a stop takes the longer of the two.
	rolling := a.rollingStop()
	var shutdown sync.WaitGroup
	shutdown.Go(func() { a.bgp.shutdown(a.cfg.GracefulShutdown, rolling) })
	a.l2.stop(rolling)
	shutdown.Wait()
	stopComponents()
	wg.Wait()
	return err
}

// rollingStop reports whether this speaker stops for a rolling update:
// Rolling says a successor replaces it at once, and the node is not
// cordoned (which moves its addresses anyway), so the node keeps
// forwarding through the restart.
func (a *Agent) rollingStop() bool {
	return a.cfg.Rolling != nil && !a.view.self.Cordoned && a.cfg.Rolling()
}

// awaitInterfaces waits until the announcer has read the interfaces, at
// most StartupGrace (reading them fails only when the host cannot list
// links, which the announcer logs and retries).
func (a *Agent) awaitInterfaces(ctx context.Context) {
	t := a.cfg.Clock.NewTimer(a.cfg.StartupGrace)
	defer t.Stop()
	select {
	case <-a.cfg.Announcer.Listed():
	case <-t.C():
		a.log.Warn("interfaces not read yet; joining the other speakers without them", "waited", a.cfg.StartupGrace.String())
	case <-ctx.Done():
	}
}

// runComponent runs one component's Run in a goroutine.
func (a *Agent) runComponent(ctx context.Context, wg *sync.WaitGroup, errs chan<- error, name string, run func(context.Context) error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("%s stopped: %w", name, err)
		}
	}()
}

// loop waits for changes and syncs until ctx ends or a component fails.
func (a *Agent) loop(ctx context.Context, errs chan error) error {
	grace := a.cfg.Clock.NewTimer(a.cfg.StartupGrace)
	defer grace.Stop()
	defer a.l2.stopTimers()
	defer a.bgp.stopTimers()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			return err
		case <-a.wake:
		case <-a.cfg.Members.Changed():
			a.l2.membersChanged()
		case <-a.detectorChanged():
			a.l2.membersChanged()
		case <-a.cfg.Announcer.Changed():
		case <-a.bgp.routerChanged():
		case <-grace.C():
			a.gate.graceOver = true
		case <-a.bgp.statusDue():
			a.bgp.statusTimerFired()
		case <-a.l2.awayDue():
			a.l2.awayTimerFired()
		case <-a.l2.releaseDue():
			a.l2.releaseTimerFired()
			continue
		case s := <-a.cfg.Announcer.Foreign():
			a.l2.foreign(s)
			continue
		}
		a.sync()
	}
}

// sync folds pending changes into the view and runs both reconcilers.
func (a *Agent) sync() {
	p := a.takePending()
	ch := a.view.update(a, p)
	a.l2.note(ch)
	a.publishInterfaces()
	a.updateDetectorPeers()
	if a.view.config == nil || !a.view.selfSeen {
		return
	}
	live := a.l2.electorate()
	open := a.gate.open(a, live)
	if open {
		a.l2.sync(live)
	}
	a.bgp.sync(ch, open)
}

// firstMember reports whether this node is the first live member by name,
// the one that reports what every speaker sees alike (cluster-wide
// problems, who announces a Service) and deletes statuses nobody owns.
func (a *Agent) firstMember() bool {
	return firstMember(a.cfg.Members, a.cfg.NodeName)
}

// firstMember reports whether self is the first live member by name.
func firstMember(m Members, self string) bool {
	ms := m.Members()
	return len(ms) == 0 || ms[0].Name == self
}
