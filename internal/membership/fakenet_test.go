package membership

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// fakeNet is an in-memory network for memberlist transports that, unlike
// memberlist.MockNetwork, can lose a member: a crash (packets vanish, dials
// are refused at once) or a cut link (packets vanish, dials time out). It
// works inside a testing/synctest bubble.
type fakeNet struct {
	mu    sync.Mutex
	hosts map[string]*fakeTransport // by "ip:port"
}

// linkState is the state of a fake member's network.
type linkState int

const (
	linkUp      linkState = iota
	linkCut               // link down: nothing in or out, dials time out
	linkCrashed           // process gone: nothing in or out, dials refused
)

func newFakeNet() *fakeNet { return &fakeNet{hosts: make(map[string]*fakeTransport)} }

// transport returns a transport at addr ("ip:port"), replacing any
// previous one there (a restarted member).
func (n *fakeNet) transport(addr string) *fakeTransport {
	t := &fakeTransport{
		net:     n,
		addr:    addr,
		packets: make(chan *memberlist.Packet, 1024),
		streams: make(chan net.Conn),
		done:    make(chan struct{}),
	}
	n.mu.Lock()
	n.hosts[addr] = t
	n.mu.Unlock()
	return t
}

func (n *fakeNet) lookup(addr string) *fakeTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[addr]
}

// fakeTransport is one member's memberlist.Transport on a fakeNet.
type fakeTransport struct {
	net     *fakeNet
	addr    string
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{} // closed by Shutdown

	mu       sync.Mutex
	state    linkState
	conns    []net.Conn
	shutdown bool
}

var _ memberlist.Transport = (*fakeTransport)(nil)

// setLink changes the member's link; a cut or crash closes its open
// streams.
func (t *fakeTransport) setLink(s linkState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = s
	if s == linkUp {
		return
	}
	for _, c := range t.conns {
		_ = c.Close()
	}
	t.conns = nil
}

func (t *fakeTransport) link() linkState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutdown {
		return linkCrashed
	}
	return t.state
}

func (t *fakeTransport) track(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns = append(t.conns, c)
}

// FinalAdvertiseAddr returns the transport's fixed address.
func (t *fakeTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	host, port, err := net.SplitHostPort(t.addr)
	if err != nil {
		return nil, 0, err
	}
	p, err := strconv.Atoi(port)
	return net.ParseIP(host), p, err
}

// WriteTo delivers a packet unless either end is down or the receiver's
// buffer is full, like UDP.
func (t *fakeTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	dst := t.net.lookup(addr)
	if t.link() != linkUp || dst == nil || dst.link() != linkUp {
		return now, nil
	}
	p := &memberlist.Packet{Buf: append([]byte(nil), b...), From: fakeAddr(t.addr), Timestamp: now}
	select {
	case dst.packets <- p:
	default:
	}
	return now, nil
}

// PacketCh returns received packets.
func (t *fakeTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// DialTimeout connects to addr through an in-memory pipe.
func (t *fakeTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	dst := t.net.lookup(addr)
	if t.link() == linkCut || (dst != nil && dst.link() == linkCut) {
		time.Sleep(timeout)
		return nil, fmt.Errorf("dial %s: %w", addr, os.ErrDeadlineExceeded)
	}
	if t.link() != linkUp || dst == nil || dst.link() != linkUp {
		return nil, fmt.Errorf("dial %s: %w", addr, errConnRefused)
	}
	local, remote := net.Pipe()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case dst.streams <- remote:
		t.track(local)
		dst.track(remote)
		return local, nil
	case <-dst.done:
		return nil, fmt.Errorf("dial %s: %w", addr, errConnRefused)
	case <-timer.C:
		return nil, fmt.Errorf("dial %s: %w", addr, os.ErrDeadlineExceeded)
	}
}

var errConnRefused = errors.New("connection refused")

// StreamCh returns accepted streams.
func (t *fakeTransport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown takes the transport off the network, like a closed socket.
func (t *fakeTransport) Shutdown() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.shutdown {
		t.shutdown = true
		close(t.done)
		for _, c := range t.conns {
			_ = c.Close()
		}
		t.conns = nil
	}
	return nil
}

// fakeAddr is a net.Addr for the fake network.
type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }
