package membership

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultPort is the TCP and UDP port speakers gossip on.
const DefaultPort = 7946

// clusterLabel is prepended to every packet and stream (and authenticated
// when encryption is on), so a memberlist cluster of another product on the
// same port, MetalLB's for example, can never merge with ours.
const clusterLabel = "pylon"

// ErrInvalidConfig is wrapped by every error [New] returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid membership config")

// Config configures a [Membership]. Start from [DefaultConfig]; zero
// durations and multipliers are replaced by the defaults, ports are not.
type Config struct {
	// NodeName is this member's name: the Kubernetes node name. Names are
	// unique in the cluster; a member restarting under the same name
	// replaces its old self.
	NodeName string

	// BindAddr is the address to listen on; "" means all (0.0.0.0).
	BindAddr string
	// BindPort is the TCP and UDP port to listen on. 0 lets the kernel
	// pick one (tests); DefaultConfig sets DefaultPort.
	BindPort int

	// AdvertiseAddr is the address peers reach us at, normally the node's
	// internal IP; "" lets memberlist pick a private address of the host.
	AdvertiseAddr string
	// AdvertisePort is the port peers reach us at; 0 means BindPort.
	AdvertisePort int

	// SecretKey is the AES key (16, 24 or 32 bytes) that encrypts and
	// authenticates all gossip. Required unless Insecure is true.
	SecretKey []byte
	// Insecure disables encryption. It must be set explicitly, with no
	// SecretKey; New logs a warning.
	Insecure bool

	// ProbeInterval is how often each member probes one peer, and how
	// long a probe may take before the peer is suspected.
	ProbeInterval time.Duration
	// ProbeTimeout is how long to wait for a direct ack before asking
	// other members to probe indirectly. Must be below ProbeInterval/2.
	ProbeTimeout time.Duration
	// SuspicionMult scales the suspicion timeout: SuspicionMult ×
	// max(1, log10 N) × ProbeInterval at least (see the package doc).
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion timeout when no other
	// member confirms the suspicion, as a multiple of its minimum.
	SuspicionMaxTimeoutMult int
	// GossipInterval is how often pending updates are gossiped to a few
	// random members; it bounds how fast news (dead, draining) spreads.
	GossipInterval time.Duration
	// RetransmitMult: each update is sent RetransmitMult × ceil(log10(N+1))
	// times.
	RetransmitMult int

	// TCPTimeout bounds a join or state exchange with one peer, so it also
	// bounds how long joining an unreachable peer blocks.
	TCPTimeout time.Duration
	// DeadNodeReclaimTime is how long a dead member's name stays bound to
	// its old address; after it, a member with that name joining from a
	// new address (a node whose IP changed) is accepted.
	DeadNodeReclaimTime time.Duration
	// LeaveTimeout bounds the graceful leave Run performs when its
	// context ends.
	LeaveTimeout time.Duration
	// RejoinInterval is how often Run retries joining peers (SetPeers)
	// that are not members, for example after a partition healed.
	RejoinInterval time.Duration

	// Logger receives our logs and memberlist's (its DEBUG and INFO lines
	// at debug level, WARN and ERR at warn level). nil discards them.
	Logger *slog.Logger

	// transport replaces memberlist's UDP/TCP transport in tests.
	transport memberlist.Transport
}

// BackedConfig returns the defaults for a membership backed by a faster
// failure detector (package heartbeat), which finds dead nodes and dead
// speakers in about 0.1 s: memberlist then only has to be sure, so it
// probes half as often and waits a second before a suspect is dead. A
// dead member of a 3-member cluster is declared dead after 1.1–1.5 s
// (with k = 3 > N−2 nobody confirms: S = min = 5 × 200 ms); a live one
// must stay silent for about 1.2 s to be declared dead, which the CPU
// starvation and packet loss that fool the fast settings do not reach.
func BackedConfig() Config {
	c := DefaultConfig()
	c.ProbeInterval, c.ProbeTimeout = 200*time.Millisecond, 80*time.Millisecond
	c.SuspicionMult = 5
	return c
}

// DefaultConfig returns the fast LAN failure-detection defaults: a dead
// member of a 3-member cluster is declared dead after 0.4–0.7 s (see the
// package doc for the maths and the trade-off). NodeName and SecretKey (or
// Insecure) are left for the caller.
func DefaultConfig() Config {
	return Config{
		BindPort: DefaultPort,
		// Ten probes a second: detection starts within ~P/2 and a failed
		// probe takes P. LAN round trips are well under 1 ms.
		ProbeInterval: 100 * time.Millisecond,
		// Under P/2 so indirect nacks return in time (see package doc);
		// still 100× a LAN round trip, and a slow direct ack is not
		// fatal: indirect and TCP probes keep going until P.
		ProbeTimeout: 40 * time.Millisecond,
		// k = SuspicionMult-2 = 1: a suspicion another member confirms
		// times out after 300 ms (up to 10 members); the suspect has
		// three gossip round trips to refute.
		SuspicionMult: 3,
		// 600 ms when nobody confirms: a lone accuser may be the sick one.
		SuspicionMaxTimeoutMult: 2,
		// News spreads in ~10 ms on average; the ticker sends nothing
		// while there is no news.
		GossipInterval: 20 * time.Millisecond,
		// memberlist's LAN default: 4 sends per update up to 8 members.
		RetransmitMult: 4,
		// A LAN peer answers a join in milliseconds; this bounds the wait
		// for one that is gone.
		TCPTimeout: 2 * time.Second,
		// Node names are unique in Kubernetes: a name showing up from a
		// new address a second after its death is the same node.
		DeadNodeReclaimTime: time.Second,
		// The leave needs one or two gossip rounds (~40 ms).
		LeaveTimeout: time.Second,
		// memberlist never contacts a member it declared dead once the
		// news stopped spreading, so after a partition heals the two
		// sides merge only when one rejoins the other: bound that.
		RejoinInterval: 2 * time.Second,
	}
}

// withDefaults returns c with zero durations and multipliers replaced by
// DefaultConfig's, and a nil Logger replaced by a discarding one.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDuration(&c.ProbeInterval, d.ProbeInterval)
	setDuration(&c.ProbeTimeout, d.ProbeTimeout)
	setDuration(&c.GossipInterval, d.GossipInterval)
	setDuration(&c.TCPTimeout, d.TCPTimeout)
	setDuration(&c.DeadNodeReclaimTime, d.DeadNodeReclaimTime)
	setDuration(&c.LeaveTimeout, d.LeaveTimeout)
	setDuration(&c.RejoinInterval, d.RejoinInterval)
	setInt(&c.SuspicionMult, d.SuspicionMult)
	setInt(&c.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	setInt(&c.RetransmitMult, d.RetransmitMult)
	if c.AdvertisePort == 0 {
		c.AdvertisePort = c.BindPort
	}
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func setDuration(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

func setInt(v *int, def int) {
	if *v == 0 {
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
	check(c.NodeName != "", "node name is empty")
	check(c.BindPort >= 0 && c.BindPort <= math.MaxUint16, "bind port %d out of range", c.BindPort)
	check(c.AdvertisePort >= 0 && c.AdvertisePort <= math.MaxUint16, "advertise port %d out of range", c.AdvertisePort)
	if c.Insecure {
		check(len(c.SecretKey) == 0, "a secret key is set although Insecure is true")
	} else {
		n := len(c.SecretKey)
		check(n == 16 || n == 24 || n == 32, "secret key is %d bytes, want 16, 24 or 32 (or Insecure)", n)
	}
	check(c.ProbeInterval > 0, "probe interval %v is not positive", c.ProbeInterval)
	check(c.ProbeTimeout > 0 && 2*c.ProbeTimeout < c.ProbeInterval,
		"probe timeout %v must be positive and below half the probe interval %v", c.ProbeTimeout, c.ProbeInterval)
	check(c.GossipInterval > 0, "gossip interval %v is not positive", c.GossipInterval)
	check(c.SuspicionMult >= 1, "suspicion multiplier %d is below 1", c.SuspicionMult)
	check(c.SuspicionMaxTimeoutMult >= 1, "suspicion max timeout multiplier %d is below 1", c.SuspicionMaxTimeoutMult)
	check(c.RetransmitMult >= 1, "retransmit multiplier %d is below 1", c.RetransmitMult)
	for _, d := range []time.Duration{c.TCPTimeout, c.DeadNodeReclaimTime, c.LeaveTimeout, c.RejoinInterval} {
		check(d > 0, "duration %v is not positive", d)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// memberlistConfig converts a validated Config into memberlist's.
func (c Config) memberlistConfig(d *delegate, logger *log.Logger) *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeName
	mc.BindAddr, mc.BindPort = c.BindAddr, c.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = c.AdvertiseAddr, c.AdvertisePort
	mc.Transport = c.transport
	mc.Label = clusterLabel
	if !c.Insecure {
		mc.SecretKey = append([]byte(nil), c.SecretKey...)
	}
	mc.ProbeInterval, mc.ProbeTimeout = c.ProbeInterval, c.ProbeTimeout
	mc.SuspicionMult, mc.SuspicionMaxTimeoutMult = c.SuspicionMult, c.SuspicionMaxTimeoutMult
	mc.GossipInterval, mc.RetransmitMult = c.GossipInterval, c.RetransmitMult
	mc.TCPTimeout = c.TCPTimeout
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.Delegate, mc.Events = d, d
	mc.Logger = logger
	return mc
}

// suspicionTimeouts mirrors memberlist v0.7.0's suspicion timer for a
// cluster of n members (util.go suspicionTimeout, state.go suspectNode):
// the timer starts at max, falls to min after k confirmations, and is min
// from the start when k is 0. It documents and tests the tuning; memberlist
// computes its own.
func (c Config) suspicionTimeouts(n int) (minT, maxT time.Duration, k int) {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	minT = time.Duration(c.SuspicionMult) * time.Duration(scale*1000) * c.ProbeInterval / 1000
	maxT = time.Duration(c.SuspicionMaxTimeoutMult) * minT
	k = c.SuspicionMult - 2
	if k < 0 || n-2 < k {
		k = 0
	}
	return minT, maxT, k
}
