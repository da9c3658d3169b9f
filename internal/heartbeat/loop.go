package heartbeat

import (
	"context"
	"sync"

	"k8s.io/utils/clock"
)

// loop is the one goroutine that owns a Detector's state: it feeds it
// packets, probe results, peer lists and ticks, and carries out its
// effects.
type loop struct {
	d      *Detector
	tr     Transport
	clk    clock.WithTicker
	st     *state
	in     chan inbound
	probed chan probeResult
	done   chan struct{} // closed when run returns: probes stop reporting
	buf    []byte
}

// probeResult is a finished probe.
type probeResult struct {
	subject string
	id      uint32
	l       Liveness
}

func newLoop(d *Detector, tr Transport) *loop {
	clk := d.cfg.Clock
	now := clk.Now()
	// The wall clock makes each run's incarnation newer than the last
	// one's; if it went back, a peer tells us (see deadAboutSelf).
	inc := uint64(now.UnixNano())
	return &loop{
		d: d, tr: tr, clk: clk,
		st:     newState(d.cfg.params(), d.log, d.cfg.Name, inc, now),
		in:     make(chan inbound, inboundQueue),
		probed: make(chan probeResult, 16),
		done:   make(chan struct{}),
		buf:    make([]byte, 0, maxPacket),
	}
}

// run handles events until ctx ends. Probes are started on wg.
func (l *loop) run(ctx context.Context, wg *sync.WaitGroup) {
	defer close(l.done)
	timer := l.clk.NewTimer(0)
	defer timer.Stop()
	l.apply(l.st.setPeers(l.clk.Now(), l.d.peerList()), wg)
	for {
		l.arm(timer)
		var fx effects
		select {
		case <-ctx.Done():
			l.apply(l.st.leave(), wg)
			return
		case m := <-l.in:
			fx = l.st.receive(l.clk.Now(), m.from, m.pkt)
		case r := <-l.probed:
			fx = l.st.probed(l.clk.Now(), r.subject, r.id, r.l)
		case <-l.d.peersChanged:
			fx = l.st.setPeers(l.clk.Now(), l.d.peerList())
		case <-timer.C():
			fx = l.st.tick(l.clk.Now())
		}
		l.apply(fx, wg)
	}
}

// arm sets the timer to the state's next wake-up.
func (l *loop) arm(timer clock.Timer) {
	select {
	case <-timer.C(): // fired while we handled something else
	default:
	}
	timer.Reset(max(l.st.nextWake().Sub(l.clk.Now()), 0))
}

// apply sends the packets, starts the probes and publishes the results.
func (l *loop) apply(fx effects, wg *sync.WaitGroup) {
	for _, s := range fx.sends {
		l.buf = l.d.codec.marshal(l.buf[:0], s.pkt)
		if err := l.tr.WriteTo(l.buf, s.to); err != nil {
			l.d.io.sendErrors.Add(1)
			continue
		}
		l.d.io.sent.Add(1)
	}
	for _, p := range fx.probes {
		wg.Go(func() { l.probe(p) })
	}
	l.d.publish(l.st, fx.changed)
}

// probe runs one probe and hands its result to the loop, unless the loop
// has ended.
func (l *loop) probe(p probeRequest) {
	start := l.clk.Now()
	res := l.tr.Probe(p.addr, l.d.cfg.ProbeTimeout)
	l.d.io.count(res)
	l.d.log.Debug("probed", "peer", p.subject, "result", res, "took", l.clk.Since(start))
	select {
	case l.probed <- probeResult{subject: p.subject, id: p.id, l: res}:
	case <-l.done:
	}
}

func (c *ioCounters) count(l Liveness) {
	switch l {
	case Alive:
		c.alive.Add(1)
	case Refused:
		c.refused.Add(1)
	case NoAnswer:
		c.noAnswer.Add(1)
	}
}
