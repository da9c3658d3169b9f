package l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAlreadyRunning is returned by Run when the Announcer runs already or
// has run before.
var ErrAlreadyRunning = errors.New("announcer already running")

// foreignBuffer is the capacity of the Foreign channel. A placement
// change or a drain can hand hundreds of addresses over at once, each
// claimed by a burst of gratuitous ARPs / unsolicited NAs: with 64, the
// claims of a 100-address hand-over were dropped and the old owner kept
// answering until its hand-over timeout.
const foreignBuffer = 4096

// Config configures an Announcer. Start from DefaultConfig.
type Config struct {
	// ExcludeInterfaces are interface name patterns (path.Match syntax)
	// that are never used. The zero value excludes nothing; DefaultConfig
	// sets DefaultExcludes().
	ExcludeInterfaces []string
	// RefreshInterval is how often gratuitous ARPs / unsolicited NAs are
	// repeated for announced IPs after the initial burst, so that switches
	// with short forwarding-table ageing keep the path. 0 turns refreshes
	// off.
	RefreshInterval time.Duration
	// Logger receives the Announcer's logs; nil discards them.
	Logger *slog.Logger
	// Host is the seam to the operating system; nil means SystemHost().
	Host Host
}

// DefaultConfig returns the recommended configuration: the default
// exclusions and a 30 s refresh.
func DefaultConfig() Config {
	return Config{ExcludeInterfaces: DefaultExcludes(), RefreshInterval: 30 * time.Second}
}

// Announcer answers ARP and NDP for the IPs it is told to announce. Its
// methods are safe for concurrent use; none blocks on the network.
type Announcer struct {
	host     Host
	excludes []string
	refresh  time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	want    map[netip.Addr][]string
	watched ipSet
	ifaces  []Interface

	kick         chan struct{}
	linksChanged chan struct{}
	changed      chan struct{}
	listed       chan struct{} // closed by the first successful read of the links
	listedOnce   sync.Once
	foreign      chan ForeignSighting
	stats        statsTable
	started      atomic.Bool
	reannounce   atomic.Bool // Reannounce was called
}

// New validates cfg and returns an Announcer. It starts nothing and opens
// no socket: call Run.
func New(cfg Config) (*Announcer, error) {
	if err := validatePatterns(cfg.ExcludeInterfaces); err != nil {
		return nil, fmt.Errorf("l2 config: %w", err)
	}
	if cfg.RefreshInterval < 0 {
		return nil, fmt.Errorf("l2 config: negative refresh interval %s", cfg.RefreshInterval)
	}
	a := &Announcer{
		host:         cfg.Host,
		excludes:     slices.Clone(cfg.ExcludeInterfaces),
		refresh:      cfg.RefreshInterval,
		log:          cfg.Logger,
		want:         map[netip.Addr][]string{},
		watched:      ipSet{},
		kick:         make(chan struct{}, 1),
		linksChanged: make(chan struct{}, 1),
		changed:      make(chan struct{}, 1),
		listed:       make(chan struct{}),
		foreign:      make(chan ForeignSighting, foreignBuffer),
	}
	if a.host == nil {
		a.host = SystemHost()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// SetAnnouncements replaces the set of announced IPs. Each IP maps to the
// names of the interfaces it is answered on; an empty list means every usable
// interface of its family (IPv4: with an IPv4 address; IPv6: with IPv6
// enabled). The map is copied. The call never blocks: the Announcer's loop
// applies the difference at once, answering and announcing new IPs
// (gratuitous ARP / unsolicited NA) and no longer answering removed ones.
// It may be called before Run.
func (a *Announcer) SetAnnouncements(want map[netip.Addr][]string) {
	w := normalize(want)
	a.mu.Lock()
	a.want = w
	a.mu.Unlock()
	signal(a.kick)
}

// Reannounce repeats the takeover burst (gratuitous ARPs, unsolicited
// NAs: one at once, a few more over the next seconds) for every announced
// IP, for when another node may have claimed them meanwhile and clients
// may have followed it: after a network partition healed, the side that
// kept an address never took it over, so it would otherwise not tell the
// clients until the next refresh. The call never blocks.
func (a *Announcer) Reannounce() {
	a.reannounce.Store(true)
	signal(a.kick)
}

// SetWatched replaces the set of IPs for which foreign announcers are
// reported although this node does not announce them, for example the IPs a
// leaving node hands over and waits for its successor to claim. Announced
// IPs are always watched. The call never blocks.
func (a *Announcer) SetWatched(ips []netip.Addr) {
	w := make(ipSet, len(ips))
	for _, ip := range ips {
		w[ip.Unmap().WithZone("")] = struct{}{}
	}
	a.mu.Lock()
	a.watched = w
	a.mu.Unlock()
	signal(a.kick)
}

// Foreign returns the channel on which foreign sightings are delivered: a
// frame in which another MAC claims an IP announced on that interface or
// watched. Sightings are dropped (and counted in Stats) when the channel's
// buffer is full; the channel is never closed.
func (a *Announcer) Foreign() <-chan ForeignSighting { return a.foreign }

// Interfaces returns the usable interfaces as last seen, sorted by name.
func (a *Announcer) Interfaces() []Interface {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ifaces)
}

// Changed returns a channel that receives a value (capacity 1, never
// closed) when the set of usable interfaces changes; call Interfaces then.
func (a *Announcer) Changed() <-chan struct{} { return a.changed }

// Listed is closed once Run has read the interfaces for the first time, so
// that Interfaces is what the host has rather than not yet known.
func (a *Announcer) Listed() <-chan struct{} { return a.listed }

// Stats returns a snapshot of the counters.
func (a *Announcer) Stats() Stats { return a.stats.snapshot() }

// Run answers and announces until ctx ends, then closes every socket and
// returns nil once its goroutines have stopped. Errors on single interfaces
// are logged and retried, never fatal. Run may be called once.
func (a *Announcer) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { a.watchLinks(ctx) })
	newLoop(a).run(ctx)
	cancel()
	wg.Wait()
	return nil
}

// watchLinks keeps the Host's link watch running, retrying after failures.
func (a *Announcer) watchLinks(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		err := a.host.Watch(ctx, a.linksChanged)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("watching interfaces failed, retrying", "error", err)
		signal(a.linksChanged)
		t.Reset(watchRetry)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// desired returns the current announcements and watched IPs. The maps are
// replaced, never modified, so the loop may keep them.
func (a *Announcer) desired() (map[netip.Addr][]string, ipSet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.want, a.watched
}

// publish stores the usable interfaces and signals Changed if they differ.
func (a *Announcer) publish(ifaces []Interface) {
	a.mu.Lock()
	same := sameInterfaces(a.ifaces, ifaces)
	a.ifaces = ifaces
	a.mu.Unlock()
	a.listedOnce.Do(func() { close(a.listed) })
	if !same {
		signal(a.changed)
	}
}

// reportForeign delivers a sighting without blocking.
func (a *Announcer) reportForeign(s ForeignSighting) {
	select {
	case a.foreign <- s:
	default:
		a.stats.foreignDropped.Add(1)
	}
}

// signal does a non-blocking send on a capacity-1 channel.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
