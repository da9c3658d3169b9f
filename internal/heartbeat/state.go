package heartbeat

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// state is the pure decision logic of one detector: given packets, probe
// results, peer lists and the time, it decides what to send, what to probe
// and who is dead. It does no I/O, starts nothing and reads no clock; one
// goroutine (the Detector's loop) owns it.
type state struct {
	p    params
	log  *slog.Logger
	self string
	ver  version // our own: incarnation and last heartbeat sent

	peers map[string]*peer // without ourselves
	names []string         // peers' names, sorted: deterministic order

	ring    ring                 // the live nodes (ourselves included)
	mine    []string             // our watchers
	grace   map[string]time.Time // former watchers, heard from us until then
	pending []rebroadcast        // verdicts and revivals still to repeat

	nextBeat time.Time
	wake     time.Time // the last wake-up nextWake asked for
	hold     time.Time // no new suspicion before (after a stall)
	nextID   uint32
	selfDead version // newest verdict about our incarnation counted
	stats    Stats
}

// peer is what we know of one other node.
type peer struct {
	name string
	addr netip.AddrPort

	known      version   // newest version known, from any source
	heard      version   // newest version heard from it directly
	heardAt    time.Time // when heard arrived; zero: never
	quietSince time.Time // silence counts from max(heardAt, quietSince)

	watched    bool     // we are one of its watchers
	confirmers []string // its other watchers, when watched

	dead      bool
	deadVer   version   // what the verdict says it last sent
	deadAt    time.Time // when the verdict arrived (TTL)
	settled   version   // not suspected before heard newer (verdict or leave)
	refuted   version   // newest verdict we answered with Alive
	corrected time.Time // last incarnation correction sent to it

	susp    *suspicion
	probeID uint32  // the probe of it in flight (0: none)
	askers  []asker // queries about it waiting for that probe
}

// asker is a query we answer once our probe of its subject ends.
type asker struct {
	addr  netip.AddrPort
	id    uint32
	asked version
}

// suspicion is an open suspicion of a watched peer.
type suspicion struct {
	id        uint32
	since     time.Time
	asked     version  // the newest version we knew when we suspected
	confirmed bool     // a confirmer heard nothing newer and could not reach it
	probe     Liveness // our own probe's result
	nextQuery time.Time
}

// rebroadcast is a verdict or revival to send to every peer left more
// times, the next at next.
type rebroadcast struct {
	pkt  packet
	left int
	next time.Time
}

// send is one packet to write.
type send struct {
	to  netip.AddrPort
	pkt packet
}

// probeRequest asks the Detector to probe a peer's liveness and to return
// the result with the probe's id.
type probeRequest struct {
	subject string
	addr    netip.AddrPort
	id      uint32
}

// effects is what the state asks the Detector to do after an event.
type effects struct {
	sends   []send
	probes  []probeRequest
	changed bool // the dead set changed
}

func (fx *effects) send(to netip.AddrPort, p packet) {
	if to.IsValid() {
		fx.sends = append(fx.sends, send{to: to, pkt: p})
	}
}

// newState returns the state of node self at incarnation inc; it sends its
// first heartbeat at now.
func newState(p params, log *slog.Logger, self string, inc uint64, now time.Time) *state {
	s := &state{
		p: p, log: log, self: self, ver: version{Inc: inc},
		peers: map[string]*peer{}, grace: map[string]time.Time{},
		nextBeat: now,
	}
	s.recompute(now)
	return s
}

// setPeers replaces the peer list (name → address; our own name is
// ignored). A peer that leaves the list is forgotten with its verdict.
func (s *state) setPeers(now time.Time, list map[string]netip.AddrPort) effects {
	var fx effects
	for name, addr := range list {
		if name == s.self || validName(name) != nil {
			continue
		}
		if x := s.peers[name]; x != nil {
			x.addr = addr
			continue
		}
		s.peers[name] = &peer{name: name, addr: addr, quietSince: now}
	}
	for name, x := range s.peers {
		if _, ok := list[name]; !ok {
			fx.changed = fx.changed || x.dead
			delete(s.peers, name)
			delete(s.grace, name)
		}
	}
	s.names = slices.Sorted(maps.Keys(s.peers))
	s.recompute(now)
	return fx
}

// recompute rebuilds the ring of live nodes and who watches whom. Called
// whenever the peers or the dead set change.
func (s *state) recompute(now time.Time) {
	live := []string{s.self}
	for _, name := range s.names {
		if !s.peers[name].dead {
			live = append(live, name)
		}
	}
	s.ring = newRing(live)
	mine := s.ring.watchers(s.self, s.p.watchers)
	for _, old := range s.mine {
		if !slices.Contains(mine, old) && s.peers[old] != nil {
			s.grace[old] = now.Add(s.p.watchGrace)
		}
	}
	for _, n := range mine {
		delete(s.grace, n)
	}
	s.mine = mine
	for _, name := range s.names {
		s.assign(now, s.peers[name])
	}
}

// assign records whether we watch x and who else does.
func (s *state) assign(now time.Time, x *peer) {
	ws := s.ring.watchers(x.name, s.p.watchers)
	watched := slices.Contains(ws, s.self)
	if watched && !x.watched {
		// A new watch: give the peer a Timeout to reach us.
		x.quietSince = now
	}
	x.watched = watched
	x.confirmers = slices.DeleteFunc(ws, func(n string) bool { return n == s.self })
	if !watched {
		x.confirmers = nil
	}
}

// settle records that x's silence after v is explained (a verdict, or x
// left): x is not suspected again before it is heard at a newer version.
func (x *peer) settle(v version) {
	if v.Compare(x.settled) > 0 {
		x.settled = v
	}
}

// leave returns what to send when we stop on purpose: our last version to
// every peer, Retransmits times at once (there is no later).
func (s *state) leave() effects {
	var fx effects
	p := packet{Kind: kindLeave, From: s.self, Version: s.ver}
	for range s.p.retransmits {
		for _, a := range s.addrs() {
			fx.send(a, p)
		}
	}
	return fx
}

// dead returns the names of the nodes currently declared dead, sorted.
func (s *state) dead() []string {
	var out []string
	for _, name := range s.names {
		if s.peers[name].dead {
			out = append(out, name)
		}
	}
	return out
}

// nextWake returns when the state next needs a tick: the next heartbeat,
// retransmission, suspicion deadline, query retry or verdict expiry.
func (s *state) nextWake() time.Time {
	w := s.nextBeat
	earliest := func(t time.Time) {
		if t.Before(w) {
			w = t
		}
	}
	for _, r := range s.pending {
		earliest(r.next)
	}
	for _, name := range s.names {
		x := s.peers[name]
		switch {
		case x.dead:
			earliest(x.deadAt.Add(s.p.verdictTTL))
		case x.susp != nil:
			earliest(x.susp.since.Add(s.p.suspicionLife()))
			if !x.susp.confirmed {
				earliest(x.susp.nextQuery)
			}
		case s.suspectable(x):
			earliest(s.suspectAt(x))
		}
	}
	s.wake = w
	return w
}

// addrs returns the addresses of every peer.
func (s *state) addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(s.names))
	for _, name := range s.names {
		out = append(out, s.peers[name].addr)
	}
	return out
}

// broadcast sends p to every peer now and Retransmits-1 more times. It
// replaces the repetitions of an earlier verdict or revival about the same
// subject: the news has changed.
func (s *state) broadcast(now time.Time, p packet, fx *effects) {
	s.pending = slices.DeleteFunc(s.pending, func(r rebroadcast) bool { return r.pkt.Subject == p.Subject })
	for _, a := range s.addrs() {
		fx.send(a, p)
	}
	if s.p.retransmits > 1 {
		s.pending = append(s.pending, rebroadcast{pkt: p, left: s.p.retransmits - 1, next: now.Add(s.p.interval)})
	}
}
