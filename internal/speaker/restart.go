package speaker

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/pylonlb/pylon/internal/membership"
)

// A speaker that stops for a rolling update (its DaemonSet rolls out and
// a successor starts on the same node within seconds) does not hand its
// L2 addresses over: moving an address cuts the connections in flight at
// the switch, twice (away and back). It marks itself Restarting and
// leaves; its peers keep it in their elections for RestartGrace, so
// nobody else claims its addresses while its node still forwards them
// (kube-proxy does not depend on the speaker), and clients keep their
// neighbour entries. Its successor wins the same addresses and announces
// them again. If no successor joins in time, the peers elect without it.

// awayMember is a speaker that left for a rolling update.
type awayMember struct {
	member membership.Member
	until  time.Time
}

// withAway returns the live members plus the speakers away for a rolling
// update: a member that left marked Restarting (membership's Departed) is
// kept for RestartGrace from when this speaker first saw it gone; one that
// is back, or whose time is up, is not. It sets the timer of the earliest
// deadline.
func (r *l2Reconciler) withAway(live []membership.Member) []membership.Member {
	now := r.cfg.Clock.Now()
	departed := map[string]membership.Member{}
	if r.cfg.RestartGrace > 0 {
		for _, m := range r.cfg.Members.Departed() {
			if m.Name != r.cfg.NodeName {
				departed[m.Name] = m
			}
		}
	}
	for name, m := range departed {
		if _, ok := r.away[name]; !ok && !r.awayExpired[name] {
			m.Draining, m.Answering = false, true
			r.away[name] = awayMember{member: m, until: now.Add(r.cfg.RestartGrace)}
			r.log.Info("a speaker stopped for a rolling update; its addresses stay with its node until its successor joins",
				"node", name, "grace", r.cfg.RestartGrace.String())
		}
	}
	for name, aw := range r.away {
		_, still := departed[name]
		switch {
		case !still:
			delete(r.away, name) // back, or gone for good
		case !now.Before(aw.until):
			delete(r.away, name)
			r.awayExpired[name] = true
			r.log.Warn("a restarting speaker did not come back in time; electing without it", "node", name,
				"grace", r.cfg.RestartGrace.String())
		}
	}
	for name := range r.awayExpired {
		if _, still := departed[name]; !still {
			delete(r.awayExpired, name)
		}
	}
	r.armAwayTimer(now)
	if len(r.away) == 0 {
		return live
	}
	out := slices.Clone(live)
	for _, name := range slices.Sorted(maps.Keys(r.away)) {
		out = append(out, r.away[name].member)
	}
	slices.SortFunc(out, func(x, y membership.Member) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// armAwayTimer makes the loop wake at the earliest away deadline; the
// timer is replaced only when that deadline changes (syncs are frequent).
func (r *l2Reconciler) armAwayTimer(now time.Time) {
	var first time.Time
	for _, aw := range r.away {
		if first.IsZero() || aw.until.Before(first) {
			first = aw.until
		}
	}
	r.awayTimer.arm(r.cfg.Clock, now, first)
}

// stop ends this speaker's part in L2 as it leaves: for a rolling update
// (see Agent.rollingStop) it marks itself Restarting and keeps its
// addresses, unless RestartGrace is 0; otherwise it hands them over
// (drain).
func (r *l2Reconciler) stop(rolling bool) {
	if !rolling || r.cfg.RestartGrace <= 0 {
		r.drain()
		return
	}
	defer r.cfg.Announcer.SetAnnouncements(nil)
	if err := r.cfg.Members.SetRestarting(true, 500*time.Millisecond); err != nil {
		r.log.Warn("announce restarting; handing the addresses over instead", "error", err)
		r.drain()
		return
	}
	r.log.Info("stopping for a rolling update: the addresses stay with this node for its successor",
		"addresses", len(r.owned), "grace", r.cfg.RestartGrace.String())
}

// awayDue fires at the earliest away deadline (nil without one).
func (r *l2Reconciler) awayDue() <-chan time.Time { return r.awayTimer.C() }

// awayTimerFired forgets the fired timer; the next sync re-arms it.
func (r *l2Reconciler) awayTimerFired() { r.awayTimer.fired() }

// stopTimers stops the away and release timers (the loop is ending).
func (r *l2Reconciler) stopTimers() {
	r.awayTimer.stop()
	r.releaseTimer.stop()
}
