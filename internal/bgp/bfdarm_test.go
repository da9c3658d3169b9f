package bgp

import (
	"testing"
	"time"
)

func TestBFDNext(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := func(at time.Time) peerStatus { return peerStatus{state: StateEstablished, establishedAt: at} }
	for _, c := range []struct {
		name     string
		s        peerStatus
		armedFor time.Time
		now      time.Time
		want     bfdStep
	}{
		{"down, not armed", peerStatus{state: StateActive}, time.Time{}, t0, bfdKeep},
		{"down, armed", peerStatus{state: StateIdle}, t0, t0.Add(time.Minute), bfdDisarm},
		{"just up", up(t0), time.Time{}, t0.Add(bfdArmDelay - time.Millisecond), bfdKeep},
		{"up long enough", up(t0), time.Time{}, t0.Add(bfdArmDelay), bfdArm},
		{"armed for this session", up(t0), t0, t0.Add(time.Hour), bfdKeep},
		{"armed for an earlier session", up(t0.Add(time.Minute)), t0, t0.Add(time.Hour), bfdDisarm},
		{"established without uptime yet", peerStatus{state: StateEstablished}, time.Time{}, t0, bfdKeep},
	} {
		if got := bfdNext(c.s, c.armedFor, c.now); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}
