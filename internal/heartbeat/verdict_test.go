package heartbeat

import (
	"slices"
	"testing"
	"time"
)

// permutations calls f with every order of ps.
func permutations(ps []packet, f func([]packet)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(ps) {
			f(ps)
			return
		}
		for i := k; i < len(ps); i++ {
			ps[k], ps[i] = ps[i], ps[k]
			rec(k + 1)
			ps[k], ps[i] = ps[i], ps[k]
		}
	}
	rec(0)
}

// TestVerdictsInAnyOrder: for a node that learns of b only through
// verdicts and revivals (it does not hear b itself), b is dead after any
// order of the same packets exactly when the newest verdict is at least
// the newest evidence of life: reordered or repeated packets resurrect and
// kill nobody.
func TestVerdictsInAnyOrder(t *testing.T) {
	sets := []struct {
		name string
		ps   []packet
		dead bool
	}{
		{"died, revived", []packet{verdict("c", "b", 1, 10), alive("c", "b", 1, 11), verdict("c", "b", 1, 10)}, false},
		{"revived, died again", []packet{verdict("c", "b", 1, 10), alive("c", "b", 1, 11), verdict("c", "b", 1, 20), alive("c", "b", 1, 15)}, true},
		{"restarted", []packet{verdict("c", "b", 1, 10), alive("c", "b", 2, 1), verdict("c", "b", 1, 99)}, false},
		{"restarted and died", []packet{verdict("c", "b", 1, 10), alive("c", "b", 2, 1), verdict("c", "b", 2, 1), alive("c", "b", 1, 99)}, true},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			permutations(slices.Clone(set.ps), func(order []packet) {
				s := newTestState("d", "e", "f", "g")
				for i, p := range order {
					s.receive(t0.Add(time.Duration(i)*time.Millisecond), addrOf(p.From), p)
				}
				if got := slices.Contains(s.dead(), "b"); got != set.dead {
					t.Errorf("order %v: dead %t, want %t", order, got, set.dead)
				}
			})
		})
	}
}

func TestOlderVerdictRefutedByRecentHearing(t *testing.T) {
	p := testParams()
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 1, 12))
	// A verdict at 1.10 while we heard 1.12 just now: we tell everyone.
	fx := s.receive(t0.Add(p.timeout/2), addrOf("c"), verdict("c", "b", 1, 10))
	if got, want := kinds(fx), []string{"alive>b", "alive>c"}; !slices.Equal(got, want) || len(s.dead()) != 0 {
		t.Fatalf("sends %v dead %v; want %v and b alive", got, s.dead(), want)
	}
	// Its retransmission is not answered again.
	if fx := s.receive(t0.Add(p.timeout/2+time.Millisecond), addrOf("c"), verdict("c", "b", 1, 10)); len(fx.sends) != 0 {
		t.Errorf("answered a repeated verdict: %v", kinds(fx))
	}
}

func TestOlderVerdictUpgradedBySilentWatcher(t *testing.T) {
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 1, 12))
	// We heard 1.12 but nothing for a Timeout since: we agree, at 1.12.
	fx := s.receive(t0.Add(time.Second), addrOf("c"), verdict("c", "b", 1, 10))
	if got, want := kinds(fx), []string{"dead>b", "dead>c"}; !slices.Equal(got, want) {
		t.Fatalf("sends %v, want %v", got, want)
	}
	if b := s.peers["b"]; !b.dead || b.deadVer != (version{1, 12}) {
		t.Errorf("b dead %t at %v, want dead at 1.12", b.dead, b.deadVer)
	}
}

func TestIncarnationCorrection(t *testing.T) {
	p := testParams()
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 5, 40))
	// An older incarnation while the known one is fresh: a stale packet.
	if fx := s.receive(t0.Add(time.Millisecond), addrOf("b"), hb("b", 4, 1)); len(fx.sends) != 0 {
		t.Fatalf("answered a stale packet: %v", kinds(fx))
	}
	// Once the known one is silent: b restarted with its clock behind.
	later := t0.Add(p.timeout)
	fx := s.receive(later, addrOf("b"), hb("b", 4, 2))
	want := []send{{to: addrOf("b"), pkt: verdict("a", "b", 5, 40)}}
	if !slices.Equal(fx.sends, want) {
		t.Fatalf("sends %+v, want %+v", fx.sends, want)
	}
	// At most once per Timeout.
	if fx := s.receive(later.Add(time.Millisecond), addrOf("b"), hb("b", 4, 3)); len(fx.sends) != 0 {
		t.Errorf("corrected twice within a Timeout: %v", kinds(fx))
	}
	// Its newer incarnation is heard.
	s.receive(later.Add(2*time.Millisecond), addrOf("b"), hb("b", 6, 1))
	if b := s.peers["b"]; b.heard != (version{6, 1}) {
		t.Errorf("heard %v, want 6.1", b.heard)
	}
}

func TestVerdictAboutSelf(t *testing.T) {
	s := newTestState()
	run(s, t0, t0.Add(100*time.Millisecond)) // a few heartbeats: our seq moves on
	own := s.ver
	s.receive(t0, addrOf("b"), verdict("b", "a", own.Inc, own.Seq-2))
	s.receive(t0, addrOf("c"), verdict("c", "a", own.Inc, own.Seq-2)) // the same verdict
	if s.stats.DeclaredDeadSelf != 1 || s.ver != own {
		t.Fatalf("declared dead %d, version %v; want 1 and no change from %v", s.stats.DeclaredDeadSelf, s.ver, own)
	}
	// A peer knows an incarnation of ours newer than ours.
	s.receive(t0, addrOf("b"), verdict("b", "a", own.Inc+7, 3))
	if s.ver != (version{Inc: own.Inc + 8}) || s.stats.IncarnationBumps != 1 || s.stats.DeclaredDeadSelf != 1 {
		t.Errorf("version %v, bumps %d, declared %d; want %d.0, 1, 1", s.ver, s.stats.IncarnationBumps, s.stats.DeclaredDeadSelf, own.Inc+8)
	}
}

func TestRevivalReplacesVerdictRepeats(t *testing.T) {
	s, fx, at := suspectB()
	s.receive(at, addrOf("c"), packet{Kind: kindAnswer, From: "c", Subject: "b", ID: queryID(fx), Status: statusSilent, Version: version{1, 10}})
	s.probed(at, "b", fx.probes[0].id, NoAnswer)
	if !slices.Equal(s.dead(), []string{"b"}) {
		t.Fatalf("dead %v, want [b]", s.dead())
	}
	// b is heard again before the verdict's repetitions are done.
	fx = s.receive(at.Add(time.Millisecond), addrOf("b"), hb("b", 1, 11))
	if len(s.dead()) != 0 || len(onlyKinds(fx, kindAlive).sends) != 2 {
		t.Fatalf("dead %v, sends %v; want b alive and told to b and c", s.dead(), kinds(fx))
	}
	later := onlyKinds(run(s, at.Add(time.Millisecond), at.Add(time.Second)), kindDead, kindAlive)
	if got, want := kinds(later), []string{"alive>b", "alive>b", "alive>c", "alive>c"}; !slices.Equal(got, want) {
		t.Errorf("repeats after the revival %v, want %v (no more verdicts)", got, want)
	}
}
