package heartbeat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Transport carries a Detector's datagrams and probes. [ListenUDP] is the
// real one; package heartbeattest has an in-memory network.
//
// ReadFrom is called from one goroutine, WriteTo from another (the
// Detector's loop), Probe from short-lived goroutines: implementations
// must allow that. Close may be called once, from the loop.
type Transport interface {
	// ReadFrom blocks until a datagram arrives, copies it into b and
	// returns its length and sender. After Close it returns an error.
	ReadFrom(b []byte) (n int, from netip.AddrPort, err error)
	// WriteTo sends one datagram. It must not block for long; like UDP it
	// may lose the datagram silently.
	WriteTo(b []byte, to netip.AddrPort) error
	// Probe asks the kernel at to whether a detector listens there: it
	// tries to open a connection (several attempts spread over timeout)
	// and reports Alive (accepted), Refused (no listener: the process is
	// gone) or NoAnswer (nothing came back within timeout: the node or
	// the path is down). It blocks until it knows, at most about timeout
	// (longer only if the calling process was not scheduled).
	Probe(to netip.AddrPort, timeout time.Duration) Liveness
	// Close stops the transport: pending and later reads fail.
	Close() error
}

// Liveness is the result of a probe.
type Liveness uint8

// Probe results.
const (
	// Unprobed: no result yet.
	Unprobed Liveness = iota
	// Alive: the node's kernel accepted a connection on the detector's
	// port, so the detector's process holds its socket.
	Alive
	// Refused: the node's kernel refused the connection: no detector
	// listens (the process died or stopped).
	Refused
	// NoAnswer: nothing came back: the node, its link or the path to it
	// is down (or the probing node's own link).
	NoAnswer
)

// String returns the result's name.
func (l Liveness) String() string {
	switch l {
	case Unprobed:
		return "unprobed"
	case Alive:
		return "alive"
	case Refused:
		return "refused"
	case NoAnswer:
		return "no-answer"
	}
	return fmt.Sprintf("liveness(%d)", uint8(l))
}

// probeAttempts is how many connections a probe opens, spread over its
// timeout: a live node is reported unreachable only if all of them (SYN
// or SYN-ACK) are lost: 4e-9 at 2% loss.
const probeAttempts = 6

// udpTransport sends heartbeats over UDP and answers probes with a TCP
// listener on the same port: the kernel completes the handshake even while
// the process is not scheduled, and refuses it once the process is gone.
type udpTransport struct {
	udp *net.UDPConn
	tcp *net.TCPListener
	wg  sync.WaitGroup
}

var _ Transport = (*udpTransport)(nil)

// ListenUDP opens a UDP socket and a TCP listener at addr (port 0: the
// kernel picks a port for UDP, and TCP takes the same) and starts accepting
// (and at once closing) probe connections until Close.
func ListenUDP(addr netip.AddrPort) (Transport, error) {
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	port := udp.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	tcpAddr := netip.AddrPortFrom(addr.Addr(), port)
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(tcpAddr))
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("listen tcp %s: %w", tcpAddr, err)
	}
	t := &udpTransport{udp: udp, tcp: tcp}
	t.wg.Go(t.accept)
	return t, nil
}

// accept closes every probe connection as soon as it is accepted (with a
// reset: no TIME_WAIT on either side).
func (t *udpTransport) accept() {
	for {
		c, err := t.tcp.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, typically: the kernel keeps
			// completing handshakes meanwhile.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = c.SetLinger(0)
		_ = c.Close()
	}
}

// ReadFrom reads one datagram; IPv4-mapped senders are unmapped.
func (t *udpTransport) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	n, from, err := t.udp.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
}

// WriteTo sends one datagram.
func (t *udpTransport) WriteTo(b []byte, to netip.AddrPort) error {
	_, err := t.udp.WriteToUDPAddrPort(b, to)
	return err
}

// Probe opens TCP connections to to (see probeTCP).
func (t *udpTransport) Probe(to netip.AddrPort, timeout time.Duration) Liveness {
	return probeTCP(to, timeout)
}

// Close closes both sockets and waits for the accept loop.
func (t *udpTransport) Close() error {
	err := errors.Join(t.udp.Close(), t.tcp.Close())
	t.wg.Wait()
	return err
}
