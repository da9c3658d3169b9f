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
func (a *Agent) withAway(live []membership.Member) []membership.Member {
	now := a.cfg.Clock.Now()
	if a.st.away == nil {
		a.st.away, a.st.awayExpired = map[string]awayMember{}, map[string]bool{}
	}
	departed := map[string]membership.Member{}
	if a.cfg.RestartGrace > 0 {
		for _, m := range a.cfg.Members.Departed() {
			if m.Name != a.cfg.NodeName {
				departed[m.Name] = m
			}
		}
	}
	for name, m := range departed {
		if _, ok := a.st.away[name]; !ok && !a.st.awayExpired[name] {
			m.Draining, m.Answering = false, true
			a.st.away[name] = awayMember{member: m, until: now.Add(a.cfg.RestartGrace)}
			a.log.Info("a speaker stopped for a rolling update; its addresses stay with its node until its successor joins",
				"node", name, "grace", a.cfg.RestartGrace.String())
		}
	}
	for name, aw := range a.st.away {
		_, still := departed[name]
		switch {
		case !still:
			delete(a.st.away, name) // back, or gone for good
		case !now.Before(aw.until):
			delete(a.st.away, name)
			a.st.awayExpired[name] = true
			a.log.Warn("a restarting speaker did not come back in time; electing without it", "node", name,
				"grace", a.cfg.RestartGrace.String())
		}
	}
	for name := range a.st.awayExpired {
		if _, still := departed[name]; !still {
			delete(a.st.awayExpired, name)
		}
	}
	a.armAwayTimer(now)
	if len(a.st.away) == 0 {
		return live
	}
	out := slices.Clone(live)
	for _, name := range slices.Sorted(maps.Keys(a.st.away)) {
		out = append(out, a.st.away[name].member)
	}
	slices.SortFunc(out, func(x, y membership.Member) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// armAwayTimer makes the loop wake at the earliest away deadline; the
// timer is replaced only when that deadline changes (syncs are frequent).
func (a *Agent) armAwayTimer(now time.Time) {
	var first time.Time
	for _, aw := range a.st.away {
		if first.IsZero() || aw.until.Before(first) {
			first = aw.until
		}
	}
	if first.Equal(a.st.awayAt) && (a.st.awayTimer != nil) == !first.IsZero() {
		return
	}
	if a.st.awayTimer != nil {
		a.st.awayTimer.Stop()
		a.st.awayTimer = nil
	}
	a.st.awayAt = first
	if !first.IsZero() {
		a.st.awayTimer = a.cfg.Clock.NewTimer(first.Sub(now))
	}
}

// stop ends this speaker's part in L2 as it leaves: for a rolling update
// (Rolling says a successor replaces it at once, and the node is not
// cordoned, which moves its addresses anyway) it marks itself Restarting
// and keeps its addresses; otherwise it hands them over (drain).
func (a *Agent) stop() {
	if a.cfg.RestartGrace <= 0 || a.cfg.Rolling == nil || a.st.self.Cordoned || !a.cfg.Rolling() {
		a.drain()
		return
	}
	defer a.cfg.Announcer.SetAnnouncements(nil)
	if err := a.cfg.Members.SetRestarting(true, 500*time.Millisecond); err != nil {
		a.log.Warn("announce restarting; handing the addresses over instead", "error", err)
		a.drain()
		return
	}
	a.log.Info("stopping for a rolling update: the addresses stay with this node for its successor",
		"addresses", len(a.st.l2Owned), "grace", a.cfg.RestartGrace.String())
}
