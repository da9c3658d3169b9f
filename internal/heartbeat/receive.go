package heartbeat

import (
	"math"
	"net/netip"
	"time"
)

// receive applies one packet that arrived from addr.
func (s *state) receive(now time.Time, addr netip.AddrPort, p packet) effects {
	var fx effects
	if p.From == s.self {
		return fx // our own broadcast looped back, or a node with our name
	}
	switch p.Kind {
	case kindHeartbeat:
		if x := s.peers[p.From]; x != nil {
			s.hear(now, x, addr, p.Version, &fx)
		}
	case kindQuery:
		s.answer(now, addr, p, &fx)
	case kindAnswer:
		s.onAnswer(now, addr, p, &fx)
	case kindDead:
		s.onDead(now, p, &fx)
	case kindAlive:
		if x := s.peers[p.Subject]; x != nil {
			s.learn(now, x, p.Version, false, &fx)
		}
	case kindLeave:
		if x := s.peers[p.From]; x != nil {
			s.onLeave(now, x, p.Version, &fx)
		}
	}
	return fx
}

// hear applies a version received from x itself (a heartbeat, or x's
// answer to a query about itself).
func (s *state) hear(now time.Time, x *peer, addr netip.AddrPort, v version, fx *effects) {
	if v.Inc < x.known.Inc {
		s.correct(now, x, addr, fx)
		return
	}
	if v.Compare(x.heard) <= 0 {
		s.stats.Stale++
		return
	}
	x.heard, x.heardAt = v, now
	s.learn(now, x, v, true, fx)
}

// learn applies evidence that x was alive at version v: heard directly
// (direct), or reported by another node. Newer evidence refutes a
// suspicion and revives a node declared dead at an older version; a node
// that revives a node it heard itself tells everyone.
func (s *state) learn(now time.Time, x *peer, v version, direct bool, fx *effects) {
	if v.Compare(x.known) > 0 {
		x.known = v
	}
	if x.susp != nil && v.Compare(x.susp.asked) > 0 {
		s.refute(now, x, "newer version")
	}
	if !x.dead || x.known.Compare(x.deadVer) <= 0 {
		return
	}
	x.dead = false
	s.stats.Revivals++
	fx.changed = true
	s.recompute(now)
	s.log.Info("alive again", "peer", x.name, "version", x.known, "verdict", x.deadVer)
	if direct {
		s.broadcast(now, packet{Kind: kindAlive, From: s.self, Subject: x.name, Version: x.known}, fx)
	}
}

// correct tells a node that sends an incarnation older than one we heard
// from it (it restarted with a clock behind its previous run's) which
// version we know, so that it moves to a newer incarnation. Only when we
// heard the newer incarnation ourselves and it has been silent for Timeout
// (else the packet is just stale), at most once per Timeout.
func (s *state) correct(now time.Time, x *peer, addr netip.AddrPort, fx *effects) {
	if x.heard.Inc != x.known.Inc || now.Sub(x.heardAt) < s.p.timeout || now.Sub(x.corrected) < s.p.timeout {
		s.stats.Stale++
		return
	}
	x.corrected = now
	fx.send(addr, packet{Kind: kindDead, From: s.self, Subject: x.name, Version: x.known})
}

// onAnswer applies an answer to one of our queries.
func (s *state) onAnswer(now time.Time, addr netip.AddrPort, p packet, fx *effects) {
	x := s.peers[p.Subject]
	if x == nil {
		return
	}
	if p.From == p.Subject {
		s.hear(now, x, addr, p.Version, fx) // the suspect itself answered
		return
	}
	s.learn(now, x, p.Version, false, fx)
	if x.susp == nil || x.susp.id != p.ID {
		return
	}
	switch p.Status {
	case statusHeard:
		s.refute(now, x, p.From)
	case statusSilent:
		x.susp.confirmed = true
		s.maybeDeclare(now, x, fx)
	}
}

// onLeave applies a peer's notice that it stops on purpose at version v:
// its silence after v is no failure (memberlist sees it leave), so it is
// neither suspected nor declared dead before it is heard newer.
func (s *state) onLeave(now time.Time, x *peer, v version, fx *effects) {
	s.learn(now, x, v, false, fx)
	if x.susp != nil && v.Compare(x.susp.asked) >= 0 {
		s.log.Debug("suspect left", "peer", x.name)
		x.susp = nil
	}
	if x.settled.Compare(v) < 0 {
		s.log.Info("left", "peer", x.name, "version", v)
	}
	x.settle(v)
}

// onDead applies a verdict. A verdict older than what we heard ourselves
// recently is refuted to everyone; one older than what we heard but also
// silent since is re-issued at our newer version.
func (s *state) onDead(now time.Time, p packet, fx *effects) {
	if p.Subject == s.self {
		s.deadAboutSelf(p)
		return
	}
	x := s.peers[p.Subject]
	if x == nil {
		return
	}
	v := p.Version
	switch {
	case v.Compare(x.known) >= 0:
		x.susp = nil
		if !x.dead {
			s.stats.VerdictsReceived++
			s.log.Info("dead by verdict", "peer", x.name, "version", v, "from", p.From)
		}
		s.markDead(now, x, v, fx)
	case x.heard.Compare(v) > 0 && now.Sub(x.heardAt) < s.p.timeout:
		if x.refuted.Compare(v) < 0 {
			x.refuted = v
			s.log.Info("refuting verdict", "peer", x.name, "verdict", v, "heard", x.heard, "from", p.From)
			s.broadcast(now, packet{Kind: kindAlive, From: s.self, Subject: x.name, Version: x.known}, fx)
		}
	case x.heard.Compare(v) > 0 && x.heard.Compare(x.known) == 0 && x.watched && !x.dead:
		s.log.Info("dead by verdict, at a newer version", "peer", x.name, "verdict", v, "heard", x.heard)
		s.stats.VerdictsReceived++
		x.susp = nil
		s.markDead(now, x, x.heard, fx)
		s.broadcast(now, packet{Kind: kindDead, From: s.self, Subject: x.name, Version: x.heard}, fx)
	}
}

// deadAboutSelf handles a verdict about us. One about our incarnation is a
// false verdict: we are running (counted; our next heartbeat, newer than
// the verdict, revives us at our watchers, who tell everyone). One at or
// above our own version means our incarnation is not newer than a previous
// run's: we move above it.
func (s *state) deadAboutSelf(p packet) {
	v := p.Version
	if v.Inc == s.ver.Inc && v.Compare(s.selfDead) > 0 {
		s.selfDead = v
		s.stats.DeclaredDeadSelf++
		s.log.Warn("declared dead while running", "by", p.From, "version", v, "own", s.ver)
	}
	if v.Compare(s.ver) >= 0 && v.Inc < math.MaxUint64 {
		s.stats.IncarnationBumps++
		s.log.Info("moving to a newer incarnation", "known", v, "own", s.ver)
		s.ver = version{Inc: v.Inc + 1}
	}
}
