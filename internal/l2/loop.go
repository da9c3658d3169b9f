package l2

import (
	"context"
	"maps"
	"time"
)

// Timings of the loop. They bound how long a transient failure lasts, not
// how fast anything normal happens.
const (
	// reopenDelay is the wait before reopening a failed responder or
	// listing links again after a failure.
	reopenDelay = time.Second
	// relistInterval is how often links are listed even without a change
	// notification, as a safety net against lost notifications.
	relistInterval = 30 * time.Second
	// watchRetry is the wait before watching links again after a failure.
	watchRetry = time.Second
	// joinRetry is the wait before retrying failed multicast joins.
	joinRetry = time.Second
)

// loop is the state owned by the Announcer's loop goroutine.
type loop struct {
	a *Announcer

	ifaces []Interface
	local  map[macKey]struct{}
	// resp are the open responders by interface name.
	resp map[string]*responder
	// reopenAt holds, per interface, when a failed open may be retried.
	reopenAt map[string]time.Time
	// applied is the plan in force: only interfaces with a responder.
	applied plan
	sched   schedule

	relistAt  time.Time
	needList  bool
	dirty     bool
	joinRetry time.Time
}

func newLoop(a *Announcer) *loop {
	return &loop{
		a: a, resp: map[string]*responder{}, reopenAt: map[string]time.Time{},
		applied: plan{}, sched: schedule{}, needList: true, dirty: true,
	}
}

// run reconciles until ctx ends, then closes every responder.
func (l *loop) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		l.reconcile(now)
		if wake, ok := l.nextWake(); ok {
			timer.Reset(wake.Sub(now))
		}
		select {
		case <-ctx.Done():
			l.shutdown()
			return
		case <-l.a.kick:
			l.dirty = true
		case <-l.a.linksChanged:
			l.needList = true
		case <-timer.C:
		}
	}
}

// reconcile brings responders, views, multicast groups and the announcement
// schedule in line with the desired state, then sends what is due.
func (l *loop) reconcile(now time.Time) {
	if l.needList || !now.Before(l.relistAt) {
		l.relist(now)
	}
	if !l.joinRetry.IsZero() && !now.Before(l.joinRetry) {
		l.joinRetry, l.dirty = time.Time{}, true
	}
	if l.syncResponders(now) {
		l.dirty = true
	}
	if l.dirty {
		l.dirty = false
		l.applyPlan(now)
	}
	if l.a.reannounce.Swap(false) {
		l.sched.restart(now)
	}
	for name, ips := range l.sched.takeDue(now, l.a.refresh) {
		l.resp[name].announce(ips)
	}
}

// relist reads the links and publishes the usable interfaces.
func (l *loop) relist(now time.Time) {
	l.needList, l.relistAt = false, now.Add(relistInterval)
	links, err := l.a.host.Links()
	if err != nil {
		l.a.log.Warn("list interfaces failed", "error", err)
		l.needList, l.relistAt = false, now.Add(reopenDelay)
		return
	}
	ifaces := usableInterfaces(links, l.a.excludes)
	local := localMACs(links)
	if !sameInterfaces(l.ifaces, ifaces) || !maps.Equal(l.local, local) {
		l.dirty = true
	}
	l.ifaces, l.local = ifaces, local
	l.a.publish(ifaces)
}

// syncResponders closes responders whose interface went away, changed or
// failed, and opens missing ones. It reports whether anything changed.
func (l *loop) syncResponders(now time.Time) bool {
	changed := false
	byName := map[string]Interface{}
	for _, ifi := range l.ifaces {
		byName[ifi.Name] = ifi
	}
	for name, t := range l.reopenAt {
		if _, ok := byName[name]; !ok || !now.Before(t) {
			delete(l.reopenAt, name)
		}
	}
	for name, r := range l.resp {
		ifi, ok := byName[name]
		err := r.failure()
		if ok && ifi.equal(r.ifi) && err == nil {
			continue
		}
		r.close()
		delete(l.resp, name)
		changed = true
		switch {
		case !ok:
			l.a.log.Info("stopped answering on interface", "interface", name)
		case err != nil:
			l.a.log.Warn("interface responder failed, reopening", "interface", name, "error", err)
			l.reopenAt[name] = now.Add(reopenDelay)
		}
	}
	for _, ifi := range l.ifaces {
		if _, wait := l.reopenAt[ifi.Name]; wait || l.resp[ifi.Name] != nil {
			continue
		}
		if l.open(ifi, now) {
			changed = true
		}
	}
	return changed
}

// open starts a responder on ifi with an empty view; applyPlan fills it.
func (l *loop) open(ifi Interface, now time.Time) bool {
	deps := responderDeps{
		stats: l.a.stats.get(ifi.Name), report: l.a.reportForeign,
		// A failed read usually means the link changed: list links again.
		wake: func() { signal(l.a.linksChanged) }, log: l.a.log,
	}
	r, err := openResponder(l.a.host, ifi, l.view(ifi, nil, nil), deps)
	if err != nil {
		l.a.log.Warn("open interface responder failed, retrying", "interface", ifi.Name, "error", err)
		l.reopenAt[ifi.Name] = now.Add(reopenDelay)
		return false
	}
	l.resp[ifi.Name] = r
	l.a.log.Info("answering on interface", "interface", ifi.Name, "mac", ifi.MAC.String())
	return true
}

// applyPlan computes the plan for the open responders, publishes their
// views (new IPs answered, removed IPs no longer) and updates the schedule
// (new IPs get a burst of announcements starting now).
func (l *loop) applyPlan(now time.Time) {
	want, watched := l.a.desired()
	var open []Interface
	for _, ifi := range l.ifaces {
		if l.resp[ifi.Name] != nil {
			open = append(open, ifi)
		}
	}
	p := makePlan(want, open)
	for name, r := range l.resp {
		if !r.update(l.view(r.ifi, p[name], watched)) {
			l.joinRetry = now.Add(joinRetry)
		}
	}
	diff := diffPlans(l.applied, p)
	for name, c := range diff {
		if len(c.added)+len(c.removed) > 0 {
			l.a.log.Debug("announcements changed", "interface", name, "added", len(c.added), "removed", len(c.removed))
		}
	}
	l.sched.apply(diff, now)
	l.applied = p
}

// view builds the view of one responder.
func (l *loop) view(ifi Interface, announced, watched ipSet) *view {
	k, _ := keyOf(ifi.MAC)
	return &view{ifi: ifi, mac: k, announced: announced, watched: watched, local: l.local}
}

// nextWake returns when the loop must run next without an event.
func (l *loop) nextWake() (time.Time, bool) {
	next, ok := l.sched.next(l.a.refresh)
	consider := func(t time.Time) {
		if !t.IsZero() && (!ok || t.Before(next)) {
			next, ok = t, true
		}
	}
	consider(l.relistAt)
	consider(l.joinRetry)
	for _, t := range l.reopenAt {
		consider(t)
	}
	return next, ok
}

// shutdown closes every responder.
func (l *loop) shutdown() {
	for name, r := range l.resp {
		r.close()
		delete(l.resp, name)
	}
}
