package heartbeat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"k8s.io/utils/clock"
)

// DefaultPort is the UDP and TCP port detectors listen on: the membership
// gossip port (7946) plus one.
const DefaultPort = 7947

// ErrInvalidConfig is wrapped by every error [New] returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid heartbeat config")

// Config configures a [Detector]. Start from [DefaultConfig]; zero
// durations and counts are replaced by the defaults.
type Config struct {
	// Name is this node's name (the Kubernetes node name), unique in the
	// cluster and at most MaxNameLen bytes.
	Name string
	// ListenAddr is the UDP (heartbeats) and TCP (liveness probes) address
	// to listen on. Peers reach us at the address SetPeers gives them.
	ListenAddr netip.AddrPort

	// Interval is how often a node sends a heartbeat to each watcher.
	Interval time.Duration
	// Timeout is how long a watcher waits without a heartbeat before it
	// suspects the node (at least 2 Intervals; best an odd number of
	// half Intervals: heartbeats are sent on the beat, see nextBeat).
	Timeout time.Duration
	// ProbeTimeout bounds the liveness probe of a suspect: how long a
	// suspecter waits for the suspect's kernel to accept or refuse a TCP
	// connection before it counts the suspect as unreachable.
	ProbeTimeout time.Duration
	// Watchers is how many nodes watch each node (k), fewer when the
	// cluster is smaller. A verdict needs a second watcher, so k below 2
	// means no verdict is ever reached.
	Watchers int
	// Retransmits is how many times a verdict or revival is sent to every
	// peer, Interval apart.
	Retransmits int
	// VerdictTTL is how long a verdict holds when the node is not heard
	// again. It must exceed the fallback detector's (memberlist's) worst
	// detection time: after it, the node is no longer reported dead, and
	// it is not suspected again before it is heard again.
	VerdictTTL time.Duration
	// WatchGrace is how long a node keeps sending heartbeats to a node
	// that stopped being one of its watchers, so that peers whose view
	// of the cluster lags behind ours keep hearing us.
	WatchGrace time.Duration

	// Key authenticates every packet (truncated HMAC-SHA256 under a key
	// derived from it). Required unless Insecure is true. The membership
	// secret key can serve.
	Key []byte
	// Insecure disables authentication. It must be set explicitly, with
	// no Key.
	Insecure bool

	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Clock is injected for tests; nil means the real clock.
	Clock clock.WithTicker
	// Listen opens the transport at ListenAddr when Run starts; nil means
	// [ListenUDP]. Tests pass an in-memory network's (heartbeattest).
	Listen func(addr netip.AddrPort) (Transport, error)
}

// DefaultConfig returns the defaults: a node whose link is cut is declared
// dead Timeout + ProbeTimeout (100 ms) after its last heartbeat, 80–100 ms
// after the cut (see the package doc). Name, ListenAddr's address and Key (or Insecure)
// are left for the caller.
func DefaultConfig() Config {
	return Config{
		ListenAddr: netip.AddrPortFrom(netip.IPv4Unspecified(), DefaultPort),
		// 50 heartbeats a second to each of k watchers: 2k×50 = 200
		// packets/s per node in and out, whatever the cluster size.
		Interval: 20 * time.Millisecond,
		// Three and a half intervals: three heartbeats lost in a row at
		// a watcher (2% loss: 8e-6) or a stall of 50–70 ms raises a
		// suspicion; the second watcher and the probe keep it from
		// becoming a verdict. Half an interval off the beat, so that
		// jitter in the arrival of the fourth heartbeat does not count.
		Timeout: 70 * time.Millisecond,
		// A LAN answers a TCP SYN in well under a millisecond; six
		// attempts in 30 ms all fail at 2% loss with probability 4e-9.
		ProbeTimeout: 30 * time.Millisecond,
		Watchers:     2,
		// Three sends to each peer: all lost at 2% loss with 8e-6.
		Retransmits: 3,
		// memberlist declares a dead node in ~0.5 s with Pylon's
		// settings, in seconds with its conservative LAN defaults.
		VerdictTTL: 30 * time.Second,
		// Node lists reach every speaker within seconds.
		WatchGrace: 10 * time.Second,
	}
}

// withDefaults returns c with zero values replaced by DefaultConfig's.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDefault(&c.Interval, d.Interval)
	setDefault(&c.Timeout, d.Timeout)
	setDefault(&c.ProbeTimeout, d.ProbeTimeout)
	setDefault(&c.VerdictTTL, d.VerdictTTL)
	setDefault(&c.WatchGrace, d.WatchGrace)
	setDefault(&c.Watchers, d.Watchers)
	setDefault(&c.Retransmits, d.Retransmits)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Listen == nil {
		c.Listen = ListenUDP
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// validate checks a Config that went through withDefaults.
func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(validName(c.Name) == nil, "node name %q: want 1..%d bytes", c.Name, MaxNameLen)
	check(c.ListenAddr.IsValid(), "listen address %v is not valid", c.ListenAddr)
	check(c.Interval > 0, "interval %v is not positive", c.Interval)
	check(c.Timeout >= 2*c.Interval, "timeout %v is below two intervals (%v)", c.Timeout, 2*c.Interval)
	check(c.ProbeTimeout > 0, "probe timeout %v is not positive", c.ProbeTimeout)
	check(c.Watchers >= 1, "watchers %d is below 1", c.Watchers)
	check(c.Retransmits >= 1, "retransmits %d is below 1", c.Retransmits)
	check(c.VerdictTTL > c.Timeout, "verdict TTL %v is not above the timeout %v", c.VerdictTTL, c.Timeout)
	check(c.WatchGrace >= 0, "watch grace %v is negative", c.WatchGrace)
	if c.Insecure {
		check(len(c.Key) == 0, "a key is set although Insecure is true")
	} else {
		check(len(c.Key) >= 16, "key is %d bytes, want at least 16 (or Insecure)", len(c.Key))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// params are the timing parameters the pure state uses.
type params struct {
	interval, timeout, probeTimeout time.Duration
	watchers, retransmits           int
	verdictTTL, watchGrace          time.Duration
}

func (c Config) params() params {
	return params{
		interval: c.Interval, timeout: c.Timeout, probeTimeout: c.ProbeTimeout,
		watchers: c.Watchers, retransmits: c.Retransmits,
		verdictTTL: c.VerdictTTL, watchGrace: c.WatchGrace,
	}
}

// suspicionLife bounds a suspicion that never resolves (no confirmer
// answers, or the probe never returns): it is then dropped, and raised again
// after another Timeout of silence. Long enough for a confirmer's probe and
// answer on a loaded node, short enough that an isolated watcher's
// suspicions are few.
func (p params) suspicionLife() time.Duration {
	return max(2*(p.timeout+p.probeTimeout), 500*time.Millisecond)
}

// stallLimit is how late a wake-up may be before the state assumes its
// process was not scheduled, and holds new suspicions for holdAfterStall
// so that heartbeats queued in the socket are read first. A hold is not
// renewed within holdGap of the last one's end.
func (p params) stallLimit() time.Duration     { return p.interval / 2 }
func (p params) holdAfterStall() time.Duration { return p.interval / 2 }
func (p params) holdGap() time.Duration        { return p.interval }
