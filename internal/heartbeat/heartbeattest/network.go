// Package heartbeattest provides an in-memory network for testing code that
// uses package heartbeat without sockets: datagrams are delivered at once
// (or dropped by a rule), links can be cut, hosts paused (as a process that
// is not scheduled), and probes answer as a kernel would. It works inside
// testing/synctest bubbles when created there.
package heartbeattest

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/internal/heartbeat"
)

// queueLen is how many datagrams an endpoint buffers before dropping, as a
// socket buffer would.
const queueLen = 1024

// Errors of the fake transport.
var (
	ErrClosed    = errors.New("heartbeattest: transport closed")
	ErrAddrInUse = errors.New("heartbeattest: address in use")
)

// Network is an in-memory LAN. Its methods are safe for concurrent use.
type Network struct {
	clk clock.WithTicker

	mu     sync.Mutex
	ends   map[netip.AddrPort]*endpoint
	hosts  map[netip.Addr]bool // hosts that ever listened: they refuse probes
	down   map[netip.Addr]bool // hosts whose link is cut
	paused map[netip.Addr]bool // hosts whose process is not scheduled
	held   []datagram          // datagrams from or to paused hosts, in order
	drop   func(from, to netip.AddrPort) bool
}

type datagram struct {
	from, to netip.AddrPort
	b        []byte
}

// NewNetwork returns an empty network whose unanswered probes wait on clk.
func NewNetwork(clk clock.WithTicker) *Network {
	return &Network{
		clk:  clk,
		ends: map[netip.AddrPort]*endpoint{}, hosts: map[netip.Addr]bool{},
		down: map[netip.Addr]bool{}, paused: map[netip.Addr]bool{},
	}
}

// Listen opens a transport at addr; it fits heartbeat.Config.Listen.
func (n *Network) Listen(addr netip.AddrPort) (heartbeat.Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ends[addr] != nil {
		return nil, ErrAddrInUse
	}
	e := &endpoint{net: n, addr: addr, in: make(chan datagram, queueLen), closed: make(chan struct{})}
	n.ends[addr] = e
	n.hosts[addr.Addr()] = true
	return e, nil
}

// SetLink cuts (up false) or restores host's link: a cut host sends and
// receives nothing, and probes to or from it get no answer.
func (n *Network) SetLink(host netip.Addr, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down[host] = !up
}

// Pause stops (true) or resumes host's process: datagrams from and to it
// wait, and are delivered in order when it resumes; its kernel still
// accepts probes.
func (n *Network) Pause(host netip.Addr, paused bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.paused[host] = paused
	if paused {
		return
	}
	held := n.held
	n.held = nil
	for _, d := range held {
		n.routeLocked(d)
	}
}

// SetDrop installs a rule that drops datagrams it returns true for (nil:
// none). It sees every datagram of links that are up, and the request and
// reply of each probe attempt (the probe's port is the datagrams').
func (n *Network) SetDrop(drop func(from, to netip.AddrPort) bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drop = drop
}

// routeLocked delivers, holds or drops d.
func (n *Network) routeLocked(d datagram) {
	switch {
	case n.down[d.from.Addr()] || n.down[d.to.Addr()]:
	case n.drop != nil && n.drop(d.from, d.to):
	case n.paused[d.from.Addr()] || n.paused[d.to.Addr()]:
		n.held = append(n.held, d)
	default:
		if e := n.ends[d.to]; e != nil {
			select {
			case e.in <- d:
			default: // queue full
			}
		}
	}
}

// ProbeAttempts is how many connection attempts a probe makes, as the
// real transport does: a probe gets no answer when the drop rule drops the
// request or the reply of every attempt.
const ProbeAttempts = 6

// probe answers like the kernel at to would.
func (n *Network) probe(from, to netip.AddrPort) (heartbeat.Liveness, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.down[from.Addr()] || n.down[to.Addr()] || !n.hosts[to.Addr()] || n.probeLostLocked(from, to):
		return heartbeat.NoAnswer, false
	case n.ends[to] != nil:
		return heartbeat.Alive, true
	}
	return heartbeat.Refused, true
}

// probeLostLocked reports whether every attempt of a probe is lost.
func (n *Network) probeLostLocked(from, to netip.AddrPort) bool {
	if n.drop == nil {
		return false
	}
	for range ProbeAttempts {
		if !n.drop(from, to) && !n.drop(to, from) {
			return false
		}
	}
	return true
}

// endpoint is one open transport.
type endpoint struct {
	net    *Network
	addr   netip.AddrPort
	in     chan datagram
	closed chan struct{}
	once   sync.Once
}

var _ heartbeat.Transport = (*endpoint)(nil)

// ReadFrom returns the next datagram delivered to the endpoint.
func (e *endpoint) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-e.in:
		return copy(b, d.b), d.from, nil
	case <-e.closed:
		return 0, netip.AddrPort{}, ErrClosed
	}
}

// WriteTo routes a copy of b to the endpoint at to.
func (e *endpoint) WriteTo(b []byte, to netip.AddrPort) error {
	select {
	case <-e.closed:
		return ErrClosed
	default:
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.net.routeLocked(datagram{from: e.addr, to: to, b: slices.Clone(b)})
	return nil
}

// Probe answers at once when the target's kernel would; otherwise it
// waits timeout on the network's clock (or until the transport closes) and
// reports NoAnswer.
func (e *endpoint) Probe(to netip.AddrPort, timeout time.Duration) heartbeat.Liveness {
	if l, ok := e.net.probe(e.addr, to); ok {
		return l
	}
	select {
	case <-e.net.clk.After(timeout):
	case <-e.closed:
	}
	return heartbeat.NoAnswer
}

// Close closes the endpoint: its port then refuses probes.
func (e *endpoint) Close() error {
	e.once.Do(func() {
		close(e.closed)
		e.net.mu.Lock()
		defer e.net.mu.Unlock()
		if e.net.ends[e.addr] == e {
			delete(e.net.ends, e.addr)
		}
	})
	return nil
}
