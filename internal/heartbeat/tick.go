package heartbeat

import (
	"time"
)

// tick does what is due at now: our heartbeat, retransmissions, verdict
// expiries, new suspicions and the follow-up of open ones.
func (s *state) tick(now time.Time) effects {
	var fx effects
	if !s.wake.IsZero() && now.Sub(s.wake) > s.p.stallLimit() {
		// We were not scheduled for a while: heartbeats may wait unread
		// in the socket. Read them before suspecting anyone; but not
		// again right after a hold, so that a node late on every tick
		// still suspects.
		s.stats.Stalls++
		if now.After(s.hold.Add(s.p.holdGap())) {
			s.hold = now.Add(s.p.holdAfterStall())
		}
	}
	s.beat(now, &fx)
	s.flush(now, &fx)
	for _, name := range s.names {
		x := s.peers[name]
		switch {
		case x.dead:
			s.expire(now, x, &fx)
		case x.susp != nil:
			s.followUp(now, x, &fx)
		case s.suspectable(x) && !now.Before(s.suspectAt(x)):
			s.suspect(now, x, &fx)
		}
	}
	return fx
}

// beat sends our heartbeat to our watchers (and former watchers in their
// grace period) when it is due.
func (s *state) beat(now time.Time, fx *effects) {
	if now.Before(s.nextBeat) {
		return
	}
	s.ver.Seq++
	hb := packet{Kind: kindHeartbeat, From: s.self, Version: s.ver}
	for _, name := range s.mine {
		fx.send(s.peers[name].addr, hb)
	}
	for name, until := range s.grace {
		if now.Before(until) {
			fx.send(s.peers[name].addr, hb)
		} else {
			delete(s.grace, name)
		}
	}
	s.nextBeat = nextBeat(now, s.p.interval)
}

// nextBeat returns the first multiple of interval (counted from the zero
// time, so aligned with the wall clock's seconds) after now. Every node
// beats at the same instants, give or take clock skew: a node's own beat
// and its watchees' heartbeats wake its process about once per interval,
// not once per packet.
func nextBeat(now time.Time, interval time.Duration) time.Time {
	return now.Truncate(interval).Add(interval)
}

// flush sends the retransmissions that are due.
func (s *state) flush(now time.Time, fx *effects) {
	kept := s.pending[:0]
	for _, r := range s.pending {
		if now.Before(r.next) {
			kept = append(kept, r)
			continue
		}
		for _, a := range s.addrs() {
			fx.send(a, r.pkt)
		}
		if r.left--; r.left > 0 {
			r.next = now.Add(s.p.interval)
			kept = append(kept, r)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// expire forgets a verdict VerdictTTL after it arrived. The node is not
// suspected again before it is heard at a newer version.
func (s *state) expire(now time.Time, x *peer, fx *effects) {
	if now.Before(x.deadAt.Add(s.p.verdictTTL)) {
		return
	}
	x.dead = false
	fx.changed = true
	s.recompute(now)
	s.log.Info("verdict expired", "peer", x.name, "version", x.deadVer)
}

// suspectable reports whether x may be suspected once silent long enough:
// we watch it, someone else does too (to confirm), we have heard it, and
// newer than any verdict about it or its leave.
func (s *state) suspectable(x *peer) bool {
	return x.watched && !x.dead && x.susp == nil && len(x.confirmers) > 0 &&
		!x.heardAt.IsZero() && x.heard.Compare(x.settled) > 0
}

// suspectAt is when a suspectable x becomes suspect if not heard: Timeout
// after it was last heard (or after a refutation), not during a hold.
func (s *state) suspectAt(x *peer) time.Time {
	from := x.heardAt
	if x.quietSince.After(from) {
		from = x.quietSince
	}
	at := from.Add(s.p.timeout)
	if s.hold.After(at) {
		return s.hold
	}
	return at
}

// suspect opens a suspicion of x: it asks x's other watchers and x itself
// whether they know anything newer than what we heard, and probes x.
func (s *state) suspect(now time.Time, x *peer, fx *effects) {
	s.nextID++
	x.susp = &suspicion{id: s.nextID, since: now, asked: x.known}
	s.stats.Suspicions++
	s.log.Debug("suspect", "peer", x.name, "silent", now.Sub(x.heardAt), "version", x.known)
	s.startProbe(x, fx)
	s.query(now, x, fx)
}

// query sends (or resends) the suspicion's query.
func (s *state) query(now time.Time, x *peer, fx *effects) {
	q := packet{Kind: kindQuery, From: s.self, Subject: x.name, ID: x.susp.id, Version: x.susp.asked}
	for _, c := range x.confirmers {
		fx.send(s.peers[c].addr, q)
	}
	fx.send(x.addr, q)
	x.susp.nextQuery = now.Add(s.p.interval)
}

// followUp resends an unconfirmed suspicion's query every Interval and
// drops a suspicion still open after suspicionLife.
func (s *state) followUp(now time.Time, x *peer, fx *effects) {
	switch {
	case !now.Before(x.susp.since.Add(s.p.suspicionLife())):
		s.stats.Undecided++
		s.log.Debug("suspicion undecided", "peer", x.name, "confirmed", x.susp.confirmed, "probe", x.susp.probe)
		s.endSuspicion(now, x)
	case !x.susp.confirmed && !now.Before(x.susp.nextQuery):
		s.query(now, x, fx)
	}
}

// endSuspicion closes x's suspicion; silence counts afresh from now.
func (s *state) endSuspicion(now time.Time, x *peer) {
	x.susp = nil
	x.quietSince = now
}

// refute closes x's suspicion because x was shown alive.
func (s *state) refute(now time.Time, x *peer, why string) {
	if x.susp == nil {
		return
	}
	s.stats.Refuted++
	s.log.Debug("suspicion refuted", "peer", x.name, "by", why, "after", now.Sub(x.susp.since))
	s.endSuspicion(now, x)
}

// maybeDeclare declares x dead once a confirmer heard nothing newer and
// the probe found x's kernel unreachable or its port closed.
func (s *state) maybeDeclare(now time.Time, x *peer, fx *effects) {
	sp := x.susp
	if !sp.confirmed || (sp.probe != Refused && sp.probe != NoAnswer) {
		return
	}
	v := x.known
	s.stats.Verdicts++
	s.log.Info("declared dead", "peer", x.name, "version", v, "silent", now.Sub(x.heardAt), "probe", sp.probe)
	x.susp = nil
	s.markDead(now, x, v, fx)
	s.broadcast(now, packet{Kind: kindDead, From: s.self, Subject: x.name, Version: v}, fx)
}

// markDead applies a verdict at version v (a copy of the verdict already
// applied changes nothing: the TTL runs from the first).
func (s *state) markDead(now time.Time, x *peer, v version, fx *effects) {
	wasDead := x.dead
	if wasDead && v.Compare(x.deadVer) <= 0 {
		return
	}
	x.dead, x.deadVer, x.deadAt = true, v, now
	x.settle(v)
	if !wasDead {
		fx.changed = true
		s.recompute(now)
	}
}
