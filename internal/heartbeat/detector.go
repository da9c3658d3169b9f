package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrAlreadyStarted is returned by a second call to [Detector.Run].
var ErrAlreadyStarted = errors.New("heartbeat detector already started")

// inboundQueue bounds the packets read but not yet handled by the loop;
// beyond it packets are dropped (counted), as a full socket buffer would.
const inboundQueue = 1024

// maxPacket is larger than any valid packet (about 560 bytes).
const maxPacket = 2048

// Detector is one node's fast failure detector. Build it with [New], give
// it the peers with [Detector.SetPeers] and run it with [Detector.Run]; read
// the verdicts with [Detector.Dead] whenever [Detector.Changed] fires. Its
// methods are safe for concurrent use.
type Detector struct {
	cfg   Config
	log   *slog.Logger
	codec codec

	started      atomic.Bool
	changed      chan struct{} // capacity 1: "Dead changed"
	peersChanged chan struct{} // capacity 1: "SetPeers was called"

	mu    sync.Mutex
	peers map[string]netip.AddrPort
	dead  []string
	stats Stats // the loop's counters, published after every event
	io    ioCounters
}

// ioCounters are counted by the reader and probe goroutines.
type ioCounters struct {
	received, malformed, dropped, sent, sendErrors atomic.Uint64
	alive, refused, noAnswer                       atomic.Uint64
}

// New validates cfg and builds a Detector. It opens nothing and starts
// nothing: Run does.
func New(cfg Config) (*Detector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Detector{
		cfg:          cfg,
		log:          cfg.Logger.With("component", "heartbeat"),
		codec:        newCodec(cfg.Key),
		changed:      make(chan struct{}, 1),
		peersChanged: make(chan struct{}, 1),
		peers:        map[string]netip.AddrPort{},
	}, nil
}

// SetPeers replaces the nodes to watch and tell: name → the address of
// their detector. Our own name may be included; it is ignored. A node
// removed from the peers is forgotten, with its verdict. The map is copied;
// the call never blocks.
func (d *Detector) SetPeers(peers map[string]netip.AddrPort) {
	d.mu.Lock()
	d.peers = maps.Clone(peers)
	d.mu.Unlock()
	notify(d.peersChanged)
}

// Dead returns the names of the peers currently declared dead, sorted. A
// verdict holds until the node is heard again, leaves the peers, or
// Config.VerdictTTL passes.
func (d *Detector) Dead() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dead)
}

// Changed receives a value (capacity 1; sends never block) after Dead
// changed: read Dead then.
func (d *Detector) Changed() <-chan struct{} { return d.changed }

// Stats returns the counters.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	s := d.stats
	d.mu.Unlock()
	s.PacketsReceived = d.io.received.Load()
	s.Malformed = d.io.malformed.Load()
	s.Dropped = d.io.dropped.Load()
	s.PacketsSent = d.io.sent.Load()
	s.SendErrors = d.io.sendErrors.Load()
	s.ProbesAlive = d.io.alive.Load()
	s.ProbesRefused = d.io.refused.Load()
	s.ProbesNoAnswer = d.io.noAnswer.Load()
	return s
}

// Run opens the transport and detects until ctx ends; then it tells every
// peer that it leaves (a planned stop is no failure: none declares it dead),
// closes the transport, waits for its goroutines and returns nil. It fails at once if
// the transport cannot be opened. A Detector runs once.
func (d *Detector) Run(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	tr, err := d.cfg.Listen(d.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("heartbeat: listen on %s: %w", d.cfg.ListenAddr, err)
	}
	d.log.Info("detecting", "addr", d.cfg.ListenAddr, "interval", d.cfg.Interval,
		"timeout", d.cfg.Timeout, "probe_timeout", d.cfg.ProbeTimeout, "watchers", d.cfg.Watchers)
	l := newLoop(d, tr)
	var wg sync.WaitGroup
	wg.Go(func() { d.read(tr, l.in) })
	l.run(ctx, &wg)
	err = tr.Close()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("heartbeat: close transport: %w", err)
	}
	return nil
}

// inbound is a decoded packet and its sender.
type inbound struct {
	from netip.AddrPort
	pkt  packet
}

// read decodes datagrams until the transport closes. It never blocks on
// the loop: a packet that does not fit the queue is dropped.
func (d *Detector) read(tr Transport, in chan<- inbound) {
	buf := make([]byte, maxPacket)
	for {
		n, from, err := tr.ReadFrom(buf)
		if err != nil {
			return
		}
		d.io.received.Add(1)
		p, err := d.codec.unmarshal(buf[:n])
		if err != nil {
			d.io.malformed.Add(1)
			d.log.Debug("dropped malformed packet", "from", from, "error", err)
			continue
		}
		select {
		case in <- inbound{from: from, pkt: p}:
		default:
			d.io.dropped.Add(1)
		}
	}
}

// peerList returns the latest peers.
func (d *Detector) peerList() map[string]netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.peers
}

// publish makes the loop's results visible to Dead and Stats.
func (d *Detector) publish(st *state, changed bool) {
	d.mu.Lock()
	d.stats = st.stats
	if changed {
		d.dead = st.dead()
	}
	d.mu.Unlock()
	if changed {
		notify(d.changed)
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
