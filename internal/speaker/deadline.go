package speaker

import (
	"time"

	"k8s.io/utils/clock"
)

// deadline is a timer that wakes the loop at one instant, replaced only
// when the instant changes (syncs are frequent and timers are not free).
type deadline struct {
	timer clock.Timer
	at    time.Time
}

// arm makes the timer fire at at (zero: never).
func (d *deadline) arm(c clock.Clock, now, at time.Time) {
	if at.Equal(d.at) && (d.timer != nil) == !at.IsZero() {
		return
	}
	d.stop()
	d.at = at
	if !at.IsZero() {
		d.timer = c.NewTimer(at.Sub(now))
	}
}

// C fires at the instant (nil when none is set).
func (d *deadline) C() <-chan time.Time {
	if d.timer == nil {
		return nil
	}
	return d.timer.C()
}

// fired forgets the timer that fired.
func (d *deadline) fired() { d.timer, d.at = nil, time.Time{} }

// stop stops the timer.
func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timer, d.at = nil, time.Time{}
}
