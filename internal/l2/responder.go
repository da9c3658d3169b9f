package l2

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/mdlayher/packet"
)

// readBufferSize holds any ARP or NDP frame on a standard or jumbo MTU.
const readBufferSize = 9216

// responder answers on one interface. The loop goroutine opens it and calls
// update, announce and close; its two reader goroutines (ARP and NDP) only
// read the published view, write replies and report sightings.
type responder struct {
	ifi   Interface
	arp   Conn
	ndp   NDPConn
	view  atomic.Pointer[view]
	stats *counters
	// report hands a sighting to the Announcer; it never blocks.
	report func(ForeignSighting)
	// wake tells the loop that the responder failed; it never blocks.
	wake func()
	log  *slog.Logger

	// joined are the multicast groups joined on ndp; loop goroutine only.
	joined map[netip.Addr]struct{}

	closing atomic.Bool
	errMu   sync.Mutex
	err     error
	wg      sync.WaitGroup
}

// responderDeps are the Announcer facilities a responder uses.
type responderDeps struct {
	stats  *counters
	report func(ForeignSighting)
	wake   func()
	log    *slog.Logger
}

// openResponder opens both connections on ifi and starts reading.
func openResponder(h Host, ifi Interface, v *view, d responderDeps) (*responder, error) {
	arpc, err := h.ListenARP(ifi)
	if err != nil {
		return nil, fmt.Errorf("listen for ARP on %s: %w", ifi.Name, err)
	}
	ndpc, err := h.ListenNDP(ifi)
	if err != nil {
		_ = arpc.Close()
		return nil, fmt.Errorf("listen for NDP on %s: %w", ifi.Name, err)
	}
	r := &responder{
		ifi: ifi, arp: arpc, ndp: ndpc, stats: d.stats, report: d.report, wake: d.wake,
		log: d.log.With("interface", ifi.Name), joined: map[netip.Addr]struct{}{},
	}
	r.view.Store(v)
	r.wg.Add(2)
	go r.read(r.arp, r.handleARP)
	go r.read(r.ndp, r.handleNDP)
	return r, nil
}

// read runs a reader goroutine until the connection fails or is closed.
func (r *responder) read(c Conn, handle func([]byte)) {
	defer r.wg.Done()
	buf := make([]byte, readBufferSize)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			if !r.closing.Load() {
				r.fail(err)
			}
			return
		}
		handle(buf[:n])
	}
}

// fail records the first read error and wakes the loop, which replaces the
// responder.
func (r *responder) fail(err error) {
	r.errMu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.errMu.Unlock()
	r.wake()
}

// failure returns the read error that stopped the responder, if any.
func (r *responder) failure() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

func (r *responder) handleARP(b []byte) {
	f, err := parseARP(b)
	if err != nil {
		return
	}
	v := r.view.Load()
	d := decideARP(v, f)
	r.sighted(d.foreign)
	if !d.reply {
		return
	}
	frame, dst, err := arpReply(v.ifi.MAC, f)
	if r.send(r.arp, frame, dst, err) {
		r.stats.arpAnswered.Add(1)
	}
}

func (r *responder) handleNDP(b []byte) {
	f, err := parseNDP(b)
	if err != nil {
		return
	}
	v := r.view.Load()
	d := decideNDP(v, f)
	r.sighted(d.foreign)
	if !d.reply {
		return
	}
	frame, dst, err := ndpReply(v.ifi, f)
	if r.send(r.ndp, frame, dst, err) {
		r.stats.ndpAnswered.Add(1)
	}
}

func (r *responder) sighted(s *ForeignSighting) {
	if s == nil {
		return
	}
	r.stats.foreign.Add(1)
	r.report(*s)
}

// send writes a frame built with error buildErr; it reports success.
func (r *responder) send(c Conn, frame []byte, dst net.HardwareAddr, buildErr error) bool {
	err := buildErr
	if err == nil {
		_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
	}
	if err != nil {
		r.stats.sendErrors.Add(1)
		r.log.Debug("send frame failed", "error", err)
		return false
	}
	return true
}

// update publishes a new view and joins or leaves the solicited-node groups
// of its IPv6 addresses. It reports false when a join failed (the caller
// retries later). Loop goroutine only.
func (r *responder) update(v *view) bool {
	r.view.Store(v)
	want := map[netip.Addr]struct{}{}
	for ip := range v.announced {
		if ip.Is6() {
			want[solicitedNode(ip)] = struct{}{}
		}
	}
	ok := true
	for g := range want {
		if _, done := r.joined[g]; done {
			continue
		}
		if err := r.ndp.JoinGroup(g); err != nil {
			r.log.Warn("join multicast group failed", "group", g, "error", err)
			ok = false
			continue
		}
		r.joined[g] = struct{}{}
	}
	for g := range r.joined {
		if _, keep := want[g]; !keep {
			if err := r.ndp.LeaveGroup(g); err != nil {
				r.log.Debug("leave multicast group failed", "group", g, "error", err)
			}
			delete(r.joined, g)
		}
	}
	return ok
}

// announce sends gratuitous ARPs or unsolicited NAs for ips.
func (r *responder) announce(ips []netip.Addr) {
	v := r.view.Load()
	for _, ip := range ips {
		if ip.Is4() {
			frames, err := gratuitousARP(v.ifi.MAC, ip)
			if err != nil {
				r.send(r.arp, nil, nil, err)
				continue
			}
			sent := true
			for _, f := range frames {
				sent = r.send(r.arp, f, broadcastMAC, nil) && sent
			}
			if sent {
				r.stats.arpGratuitous.Add(1)
			}
			continue
		}
		frame, err := unsolicitedNA(v.ifi, ip)
		if r.send(r.ndp, frame, multicastMAC(allNodes), err) {
			r.stats.ndpUnsolicited.Add(1)
		}
	}
}

// close stops the readers and closes the connections (which also leaves
// every multicast group). Loop goroutine only.
func (r *responder) close() {
	r.closing.Store(true)
	if err := r.arp.Close(); err != nil {
		r.log.Debug("close ARP connection failed", "error", err)
	}
	if err := r.ndp.Close(); err != nil {
		r.log.Debug("close NDP connection failed", "error", err)
	}
	r.wg.Wait()
}

// broadcastMAC is the Ethernet broadcast address.
var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
