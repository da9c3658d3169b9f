// Package l2test provides in-memory fakes for testing code that uses
// package l2 without raw sockets: a Network that floods frames between its
// ports like a hub, a Host with scripted links whose connections attach to
// Networks, and a Tap to inject and capture frames. The fakes work inside
// testing/synctest bubbles when created there.
package l2test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/mdlayher/ethernet"
	"github.com/pylonlb/pylon/internal/l2"
)

// queueLen is how many frames a port buffers before dropping, as a real
// socket would.
const queueLen = 1024

// ErrClosed is returned by reads and writes on a closed connection.
var ErrClosed = errors.New("l2test: connection closed")

// Network is an in-memory Ethernet segment. A frame written on one port is
// delivered to every other port that accepts its EtherType. It is safe for
// concurrent use.
type Network struct {
	mu    sync.Mutex
	ports []*port
}

// NewNetwork returns an empty segment.
func NewNetwork() *Network { return &Network{} }

// port is one attachment to a Network.
type port struct {
	net *Network
	// accept selects the EtherTypes delivered to the port; nil takes all.
	accept func(ethernet.EtherType) bool
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func (n *Network) attach(accept func(ethernet.EtherType) bool) *port {
	p := &port{net: n, accept: accept, in: make(chan []byte, queueLen), closed: make(chan struct{})}
	n.mu.Lock()
	n.ports = append(n.ports, p)
	n.mu.Unlock()
	return p
}

func (n *Network) detach(p *port) {
	n.mu.Lock()
	n.ports = slices.DeleteFunc(n.ports, func(q *port) bool { return q == p })
	n.mu.Unlock()
}

// deliver copies frame to every port but from.
func (n *Network) deliver(from *port, frame []byte) {
	var et ethernet.EtherType
	if len(frame) >= 14 {
		et = ethernet.EtherType(uint16(frame[12])<<8 | uint16(frame[13]))
	}
	n.mu.Lock()
	ports := slices.Clone(n.ports)
	n.mu.Unlock()
	for _, p := range ports {
		if p == from || (p.accept != nil && !p.accept(et)) {
			continue
		}
		select {
		case p.in <- slices.Clone(frame):
		default: // queue full: dropped, as on a real link
		}
	}
}

func (p *port) read(b []byte) (int, error) {
	select {
	case f := <-p.in:
		return copy(b, f), nil
	case <-p.closed:
		return 0, ErrClosed
	}
}

func (p *port) write(b []byte) error {
	select {
	case <-p.closed:
		return ErrClosed
	default:
	}
	p.net.deliver(p, b)
	return nil
}

func (p *port) close() {
	p.once.Do(func() {
		close(p.closed)
		p.net.detach(p)
	})
}

// Tap is a test endpoint on a Network that sees every frame.
type Tap struct{ p *port }

// Tap attaches a new tap to the network.
func (n *Network) Tap() *Tap { return &Tap{p: n.attach(nil)} }

// Send puts a frame on the network.
func (t *Tap) Send(frame []byte) { t.p.net.deliver(t.p, frame) }

// Frames returns the channel of frames the tap received.
func (t *Tap) Frames() <-chan []byte { return t.p.in }

// Drain returns the frames received so far without blocking.
func (t *Tap) Drain() [][]byte {
	var out [][]byte
	for {
		select {
		case f := <-t.p.in:
			out = append(out, f)
		default:
			return out
		}
	}
}

// Close detaches the tap.
func (t *Tap) Close() { t.p.close() }

// conn is a fake l2.Conn / l2.NDPConn bound to one port.
type conn struct {
	p      *port
	host   *Host
	ifname string
}

func (c *conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := c.p.read(b)
	return n, nil, err
}

func (c *conn) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := c.p.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *conn) Close() error {
	c.p.close()
	c.host.dropGroups(c)
	return nil
}

func (c *conn) JoinGroup(g netip.Addr) error  { return c.host.join(c, g) }
func (c *conn) LeaveGroup(g netip.Addr) error { return c.host.leave(c, g) }

var _ l2.NDPConn = (*conn)(nil)

// Host is a fake l2.Host. Its links are set by the test; connections on a
// link attach to the Network given with Attach. It is safe for concurrent
// use.
type Host struct {
	mu       sync.Mutex
	links    []l2.Link
	nets     map[string]*Network
	failures map[string]error
	groups   map[*conn]map[netip.Addr]bool
	watchers map[chan<- struct{}]struct{}
	conns    map[*conn]struct{}
	listens  int
}

var _ l2.Host = (*Host)(nil)

// NewHost returns a host without links.
func NewHost() *Host {
	return &Host{
		nets: map[string]*Network{}, failures: map[string]error{},
		groups: map[*conn]map[netip.Addr]bool{}, watchers: map[chan<- struct{}]struct{}{},
		conns: map[*conn]struct{}{},
	}
}

// SetLinks replaces the host's links and notifies watchers.
func (h *Host) SetLinks(links ...l2.Link) {
	h.mu.Lock()
	h.links = slices.Clone(links)
	ws := make([]chan<- struct{}, 0, len(h.watchers))
	for w := range h.watchers {
		ws = append(ws, w)
	}
	h.mu.Unlock()
	for _, w := range ws {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Attach connects the link named name to network n.
func (h *Host) Attach(name string, n *Network) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nets[name] = n
}

// FailListen makes opening connections on the named link fail with err
// (nil to succeed again).
func (h *Host) FailListen(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures[name] = err
}

// Listens counts the connections opened so far.
func (h *Host) Listens() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.listens
}

// Groups returns the multicast groups joined on the named link, sorted.
func (h *Host) Groups(name string) []netip.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []netip.Addr
	for c, gs := range h.groups {
		if c.ifname != name {
			continue
		}
		for g := range gs {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Links implements l2.Host.
func (h *Host) Links() ([]l2.Link, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.links), nil
}

// Watch implements l2.Host: SetLinks signals changed until ctx ends.
func (h *Host) Watch(ctx context.Context, changed chan<- struct{}) error {
	h.mu.Lock()
	h.watchers[changed] = struct{}{}
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	delete(h.watchers, changed)
	h.mu.Unlock()
	return nil
}

// ListenARP implements l2.Host.
func (h *Host) ListenARP(ifi l2.Interface) (l2.Conn, error) {
	return h.listen(ifi, ethernet.EtherTypeARP)
}

// ListenNDP implements l2.Host.
func (h *Host) ListenNDP(ifi l2.Interface) (l2.NDPConn, error) {
	return h.listen(ifi, ethernet.EtherTypeIPv6)
}

func (h *Host) listen(ifi l2.Interface, et ethernet.EtherType) (*conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failures[ifi.Name]; err != nil {
		return nil, err
	}
	n := h.nets[ifi.Name]
	if n == nil {
		n = NewNetwork() // an unplugged cable
		h.nets[ifi.Name] = n
	}
	h.listens++
	p := n.attach(func(got ethernet.EtherType) bool { return got == et })
	c := &conn{p: p, host: h, ifname: ifi.Name}
	h.conns[c] = struct{}{}
	return c, nil
}

// Break makes every open connection on the named link fail, as a socket
// does when its interface is deleted.
func (h *Host) Break(name string) {
	h.mu.Lock()
	var victims []*conn
	for c := range h.conns {
		if c.ifname == name {
			victims = append(victims, c)
		}
	}
	h.mu.Unlock()
	for _, c := range victims {
		c.p.close()
	}
}

func (h *Host) join(c *conn, g netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.groups[c] == nil {
		h.groups[c] = map[netip.Addr]bool{}
	}
	if h.groups[c][g] {
		return errors.New("l2test: group already joined")
	}
	h.groups[c][g] = true
	return nil
}

func (h *Host) leave(c *conn, g netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.groups[c][g] {
		return errors.New("l2test: group not joined")
	}
	delete(h.groups[c], g)
	return nil
}

func (h *Host) dropGroups(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.groups, c)
	delete(h.conns, c)
}

// EthernetLink returns a usable Ethernet link (up, running, broadcast,
// multicast) with the given addresses, for building test hosts.
func EthernetLink(name string, index int, mac string, addrs ...string) l2.Link {
	l := l2.Link{
		Name: name, Index: index, MAC: mustMAC(mac),
		Flags: net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast,
	}
	for _, a := range addrs {
		l.Addrs = append(l.Addrs, netip.MustParsePrefix(a))
	}
	return l
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
