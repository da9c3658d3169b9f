package heartbeat

import (
	"net/netip"
	"slices"
	"time"
)

// A suspicion needs two vantage points: our own probe of the suspect, and
// a confirmer that knows nothing newer of it and whose own probe of it also
// failed. A probe can miss a live node whose kernel answers late (the
// prober's or the suspect's softirq work deferred to a starved ksoftirqd);
// two probers from two nodes rarely both miss it.

// answer replies to a query: Heard with a newer version if we know one
// (always when the query is about us); Unknown if we neither watch the
// subject nor heard it within WatchGrace (it may still count us as its
// watcher); otherwise we probe the subject and answer when the probe ends
// (see probed).
func (s *state) answer(now time.Time, addr netip.AddrPort, q packet, fx *effects) {
	a := packet{Kind: kindAnswer, From: s.self, Subject: q.Subject, ID: q.ID, Status: statusUnknown}
	x := s.peers[q.Subject]
	switch {
	case q.Subject == s.self:
		a.Status, a.Version = statusHeard, s.ver
	case x == nil:
	case x.known.Compare(q.Version) > 0:
		a.Status, a.Version = statusHeard, x.known
	case x.watched || (!x.heardAt.IsZero() && now.Sub(x.heardAt) < s.p.watchGrace):
		s.awaitProbe(x, asker{addr: addr, id: q.ID, asked: q.Version}, fx)
		return
	default:
		a.Version = x.known
	}
	fx.send(addr, a)
}

// awaitProbe queues a query about x until our probe of x ends.
func (s *state) awaitProbe(x *peer, a asker, fx *effects) {
	if !slices.Contains(x.askers, a) {
		x.askers = append(x.askers, a)
	}
	s.startProbe(x, fx)
}

// startProbe asks for a probe of x unless one is in flight.
func (s *state) startProbe(x *peer, fx *effects) {
	if x.probeID != 0 {
		return
	}
	s.nextID++
	x.probeID = s.nextID
	fx.probes = append(fx.probes, probeRequest{subject: x.name, addr: x.addr, id: x.probeID})
}

// probed applies the result of a probe: it answers the queries that waited
// for it and feeds our own suspicion.
func (s *state) probed(now time.Time, subject string, id uint32, l Liveness) effects {
	var fx effects
	x := s.peers[subject]
	if x == nil || x.probeID != id {
		return fx
	}
	x.probeID = 0
	s.answerAskers(x, l, &fx)
	if x.susp == nil {
		return fx
	}
	if l == Alive {
		// Its kernel accepts connections on our port: the process is
		// alive (only not scheduled, or its heartbeats are lost).
		s.stats.RefutedByProbe++
		s.refute(now, x, "probe")
		return fx
	}
	x.susp.probe = l
	s.maybeDeclare(now, x, &fx)
	return fx
}

// answerAskers answers the queries about x now that our probe of it ended:
// Heard if the probe reached it or we know a newer version than asked,
// Silent otherwise.
func (s *state) answerAskers(x *peer, l Liveness, fx *effects) {
	for _, a := range x.askers {
		st := statusSilent
		if l == Alive || x.known.Compare(a.asked) > 0 {
			st = statusHeard
		}
		fx.send(a.addr, packet{Kind: kindAnswer, From: s.self, Subject: x.name, ID: a.id, Status: st, Version: x.known})
	}
	x.askers = nil
}
