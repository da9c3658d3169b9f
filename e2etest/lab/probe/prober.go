package probe

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Sample is the outcome of one probe.
type Sample struct {
	Seq     int
	Start   time.Time
	Latency time.Duration
	Node    string // who answered; "" on failure
	Err     string // "" on success
}

// OK reports whether the probe got an answer.
func (s Sample) OK() bool { return s.Err == "" }

// ProberConfig configures a Prober.
type ProberConfig struct {
	// Do makes one probe and returns the answering node (see ForHTTP).
	Do func(ctx context.Context) (string, error)
	// Interval between probe starts (default 10 ms). Probes overlap: a slow
	// one never delays the next, so the timeline keeps its resolution while
	// packets are being lost.
	Interval time.Duration
	// Timeout bounds each probe (default 500 ms).
	Timeout time.Duration
	// MaxInFlight bounds concurrent probes (default Timeout/Interval + 10);
	// a tick with no free slot is recorded as a failed sample.
	MaxInFlight int
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// ForHTTP returns a ProberConfig.Do that requests http://ip:port/ from ns.
func ForHTTP(ns netns.NS, ip netip.Addr, port int) func(ctx context.Context) (string, error) {
	client := NewHTTPClient(ns, 0) // the prober's context bounds each request
	return func(ctx context.Context) (string, error) { return Get(ctx, client, ip, port) }
}

// Prober probes continuously and records every sample.
type Prober struct {
	cfg     ProberConfig
	mu      sync.Mutex
	samples []Sample
}

// ErrNoProbe is returned by NewProber without a Do function.
var ErrNoProbe = errors.New("prober: no probe function")

// NewProber checks cfg and fills defaults; it starts nothing.
func NewProber(cfg ProberConfig) (*Prober, error) {
	if cfg.Do == nil {
		return nil, ErrNoProbe
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = int(cfg.Timeout/cfg.Interval) + 10
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Prober{cfg: cfg}, nil
}

// Run starts a probe every interval until ctx ends, then waits for the
// probes in flight and returns nil.
func (p *Prober) Run(ctx context.Context) error {
	tick := p.cfg.Clock.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	slots := make(chan struct{}, p.cfg.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for seq := 0; ; seq++ {
		start := p.cfg.Clock.Now()
		select {
		case slots <- struct{}{}:
			wg.Go(func() {
				defer func() { <-slots }()
				p.record(p.probe(ctx, seq, start))
			})
		default:
			p.record(Sample{Seq: seq, Start: start, Err: "too many probes in flight"})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C():
		}
	}
}

func (p *Prober) probe(ctx context.Context, seq int, start time.Time) Sample {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	node, err := p.cfg.Do(pctx)
	s := Sample{Seq: seq, Start: start, Latency: p.cfg.Clock.Since(start), Node: node}
	if err != nil {
		s.Node, s.Err = "", err.Error()
	}
	return s
}

func (p *Prober) record(s Sample) {
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
}

// Samples returns the samples so far, in start order. It may be called
// while Run runs (probes in flight are missing).
func (p *Prober) Samples() []Sample {
	p.mu.Lock()
	out := append([]Sample(nil), p.samples...)
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
