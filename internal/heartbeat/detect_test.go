package heartbeat_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pylonlb/pylon/internal/heartbeat"
)

// The detection tests run whole detectors on the in-memory network with a
// fake clock: simulated time is deterministic, so they may bound it.

func TestLinkCutIsDetectedByEveryone(t *testing.T) {
	bubble(t, func(t *testing.T) {
		cfg := testConfig()
		c := newCluster(t, 5, cfg)
		victim := c.nodes[3]
		c.net.SetLink(victim.addr.Addr(), false)
		took := c.advanceUntil(time.Second, "everyone sees the victim dead", func() bool {
			return allSee(c.others(victim), victim.name)
		})
		// Last heartbeat at most Interval before the cut, suspicion at
		// Timeout after it, then the probe's timeout (plus its last
		// attempt's share) and a few milliseconds of steps.
		t.Logf("verdict at every node %v after the cut", took)
		if limit := cfg.Timeout + cfg.ProbeTimeout + cfg.ProbeTimeout/6 + 5*time.Millisecond; took > limit {
			t.Errorf("verdict after %v, want at most %v", took, limit)
		}
		if got := sum(c.nodes, verdicts); got < 1 || got > 2 {
			t.Errorf("%d verdicts reached, want 1 or 2 (one per watcher)", got)
		}
		// Everyone else learnt it from the broadcast.
		if got := sum(c.nodes, func(s heartbeat.Stats) uint64 { return s.VerdictsReceived }); got < 2 {
			t.Errorf("%d verdicts received, want at least 2 (the non-watchers)", got)
		}
		if d := victim.d.Dead(); len(d) != 0 {
			t.Errorf("the cut-off victim declared %v dead", d)
		}
	})
}

func TestKilledProcessIsDetected(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 3, testConfig())
		victim := c.nodes[0]
		c.kill(victim) // link up: probes are refused
		c.advanceUntil(time.Second, "the victim declared dead", func() bool {
			return allSee(c.others(victim), victim.name)
		})
		if got := sum(c.others(victim), func(s heartbeat.Stats) uint64 { return s.ProbesRefused }); got == 0 {
			t.Error("no probe was refused")
		}
	})
}

func TestChangedSignalsVerdict(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 3, testConfig())
		watcher := c.nodes[1]
		select {
		case <-watcher.d.Changed(): // the start may have signalled
		default:
		}
		c.net.SetLink(c.nodes[0].addr.Addr(), false)
		c.advance(500 * time.Millisecond)
		select {
		case <-watcher.d.Changed():
		default:
			t.Fatal("Changed did not fire after a verdict")
		}
	})
}

func TestStalledNodeIsNotDeclared(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		victim := c.nodes[2]
		// Its process is not scheduled for 2 s: nothing from it, but its
		// kernel accepts the probes.
		c.net.Pause(victim.addr.Addr(), true)
		c.advance(2 * time.Second)
		c.net.Pause(victim.addr.Addr(), false)
		c.advance(time.Second)
		c.expectNoVerdict()
		if got := sum(c.nodes, func(s heartbeat.Stats) uint64 { return s.RefutedByProbe }); got == 0 {
			t.Error("no suspicion was refuted by a probe")
		}
	})
}

func TestIsolatedWatcherNeverDeclares(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		isolated := c.nodes[1]
		c.net.SetLink(isolated.addr.Addr(), false)
		c.advance(3 * time.Second)
		s := isolated.d.Stats()
		if s.Verdicts != 0 || len(isolated.d.Dead()) != 0 {
			t.Errorf("isolated node declared %v dead (stats %+v)", isolated.d.Dead(), s)
		}
		if s.Suspicions == 0 || s.Undecided == 0 {
			t.Errorf("isolated node: %d suspicions, %d undecided; want some of each", s.Suspicions, s.Undecided)
		}
		if !allSee(c.others(isolated), isolated.name) {
			t.Error("the others did not declare the isolated node dead")
		}
	})
}

func TestTwoNodesNeverDeclare(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 2, testConfig())
		c.net.SetLink(c.nodes[0].addr.Addr(), false)
		c.advance(3 * time.Second)
		c.expectNoVerdict()
		if got := sum(c.nodes, func(s heartbeat.Stats) uint64 { return s.Suspicions }); got != 0 {
			t.Errorf("%d suspicions with nobody to confirm, want none", got)
		}
	})
}

func TestOtherWatcherRefutes(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 3, testConfig())
		subject, watcher := c.nodes[0], c.nodes[1]
		// Everything from subject to watcher is lost; the third node
		// (the other watcher) still hears subject.
		c.net.SetDrop(func(from, to netip.AddrPort) bool {
			return from == subject.addr && to == watcher.addr
		})
		c.advance(2 * time.Second)
		c.expectNoVerdict()
		s := watcher.d.Stats()
		if s.Suspicions == 0 || s.Refuted == 0 {
			t.Errorf("watcher: %d suspicions, %d refuted; want both", s.Suspicions, s.Refuted)
		}
	})
}

func TestRevivalAfterLinkReturns(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 5, testConfig())
		victim := c.nodes[4]
		c.net.SetLink(victim.addr.Addr(), false)
		c.advanceUntil(time.Second, "verdict", func() bool { return allSee(c.others(victim), victim.name) })
		c.advance(200 * time.Millisecond) // the verdict's retransmissions end
		c.net.SetLink(victim.addr.Addr(), true)
		// Its next heartbeat reaches its watchers, who tell everyone.
		c.advanceUntil(100*time.Millisecond, "revival", func() bool { return allSee(c.nodes) })
		c.advance(time.Second)
		if !allSee(c.nodes) {
			t.Error("the revived node was declared dead again")
		}
		if got := victim.d.Stats().DeclaredDeadSelf; got != 0 {
			// The verdict was sent while its link was down.
			t.Errorf("victim counted %d verdicts about itself, want 0", got)
		}
	})
}

func TestRestartIsAlive(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		victim := c.nodes[0]
		c.kill(victim)
		c.advanceUntil(time.Second, "verdict", func() bool { return allSee(c.others(victim), victim.name) })
		c.advance(2 * time.Second)
		c.start(victim)
		c.advanceUntil(100*time.Millisecond, "revival", func() bool { return allSee(c.nodes) })
	})
}

func TestRestartWithClockBehindMovesToNewerIncarnation(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		victim := c.nodes[0]
		c.kill(victim)
		c.advanceUntil(time.Second, "verdict", func() bool { return allSee(c.others(victim), victim.name) })
		// The restarted process reads a clock an hour behind: its
		// incarnation is older than the one its peers know.
		c.startWithClock(victim, behindClock{c.clk, time.Hour})
		c.advanceUntil(500*time.Millisecond, "revival", func() bool { return allSee(c.nodes) })
		if got := victim.d.Stats().IncarnationBumps; got != 1 {
			t.Errorf("victim moved incarnation %d times, want 1", got)
		}
	})
}

func TestVerdictExpires(t *testing.T) {
	bubble(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.VerdictTTL = 2 * time.Second
		c := newCluster(t, 3, cfg)
		victim := c.nodes[0]
		c.net.SetLink(victim.addr.Addr(), false)
		c.advanceUntil(time.Second, "verdict", func() bool { return allSee(c.others(victim), victim.name) })
		c.advance(cfg.VerdictTTL)
		if !allSee(c.others(victim)) {
			t.Fatal("verdict still held after its TTL")
		}
		c.advance(3 * time.Second)
		if got := sum(c.nodes, verdicts); got > 2 {
			t.Errorf("%d verdicts: a node not heard since its verdict was declared again", got)
		}
	})
}

func TestPlannedStopIsNotAFailure(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		leaver := c.nodes[1]
		c.stop(leaver) // Run's context ends: it says it leaves
		c.advance(3 * time.Second)
		for _, nd := range c.others(leaver) {
			s := nd.d.Stats()
			if len(nd.d.Dead()) != 0 || s.Suspicions != 0 {
				t.Errorf("%s: dead %v, %d suspicions after a planned stop", nd.name, nd.d.Dead(), s.Suspicions)
			}
		}
		// Back, then killed: detected as usual.
		c.start(leaver)
		c.advance(time.Second)
		c.kill(leaver)
		c.advanceUntil(time.Second, "verdict", func() bool { return allSee(c.others(leaver), leaver.name) })
	})
}
