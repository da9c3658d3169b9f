package heartbeat

import (
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The state tests drive the pure decision logic of node "a" directly, with
// explicit times. In a 3-node cluster everyone watches everyone (k=2).

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func addrOf(name string) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, name[0]}), DefaultPort)
}

func testParams() params { return DefaultConfig().params() }

// newTestState returns a's state with peers b and c (and more), at t0.
func newTestState(more ...string) *state {
	s := newState(testParams(), slog.New(slog.DiscardHandler), "a", 100, t0)
	peers := map[string]netip.AddrPort{}
	for _, n := range append([]string{"a", "b", "c"}, more...) {
		peers[n] = addrOf(n)
	}
	s.setPeers(t0, peers)
	return s
}

// run ticks s every millisecond after from up to and including to, as
// the loop would, and returns all effects.
func run(s *state, from, to time.Time) effects {
	var all effects
	for now := from.Add(time.Millisecond); !now.After(to); now = now.Add(time.Millisecond) {
		s.nextWake()
		fx := s.tick(now)
		all.sends = append(all.sends, fx.sends...)
		all.probes = append(all.probes, fx.probes...)
		all.changed = all.changed || fx.changed
	}
	return all
}

// queryID returns the id of the first query in fx.
func queryID(fx effects) uint32 {
	for _, s := range fx.sends {
		if s.pkt.Kind == kindQuery {
			return s.pkt.ID
		}
	}
	return 0
}

// onlyKinds keeps the packets of the given kinds.
func onlyKinds(fx effects, ks ...kind) effects {
	fx.sends = slices.DeleteFunc(slices.Clone(fx.sends), func(s send) bool { return !slices.Contains(ks, s.pkt.Kind) })
	return fx
}

func hb(from string, inc, seq uint64) packet {
	return packet{Kind: kindHeartbeat, From: from, Version: version{inc, seq}}
}

func verdict(from, subject string, inc, seq uint64) packet {
	return packet{Kind: kindDead, From: from, Subject: subject, Version: version{inc, seq}}
}

func alive(from, subject string, inc, seq uint64) packet {
	return packet{Kind: kindAlive, From: from, Subject: subject, Version: version{inc, seq}}
}

// kinds lists the kinds of fx's packets, with their destinations' names.
func kinds(fx effects) []string {
	var out []string
	for _, s := range fx.sends {
		out = append(out, s.pkt.Kind.String()+">"+string(rune(s.to.Addr().As4()[3])))
	}
	slices.Sort(out)
	return out
}

// suspectB returns a's state after b fell silent for a Timeout while c
// kept talking: a has just suspected b (fx holds the probe and queries).
func suspectB() (*state, effects, time.Time) {
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 1, 10))
	s.receive(t0, addrOf("c"), hb("c", 1, 10))
	at := t0.Add(testParams().timeout)
	s.receive(at.Add(-time.Millisecond), addrOf("c"), hb("c", 1, 11))
	return s, run(s, t0, at), at
}

func TestStaleHeartbeatIgnored(t *testing.T) {
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 1, 10))
	s.receive(t0.Add(time.Millisecond), addrOf("b"), hb("b", 1, 9))
	s.receive(t0.Add(2*time.Millisecond), addrOf("b"), hb("b", 1, 10))
	b := s.peers["b"]
	if b.heard != (version{1, 10}) || !b.heardAt.Equal(t0) || s.stats.Stale != 2 {
		t.Errorf("heard %v at %v, %d stale; want 1.10 at t0, 2 stale", b.heard, b.heardAt.Sub(t0), s.stats.Stale)
	}
}

func TestSuspicionDeclaresWithConfirmationAndProbe(t *testing.T) {
	p := testParams()
	s, fx, at := suspectB()
	if len(fx.probes) != 1 || fx.probes[0].subject != "b" {
		t.Fatalf("probes %+v, want one of b", fx.probes)
	}
	pid, qid := fx.probes[0].id, queryID(fx)
	if got, want := kinds(onlyKinds(fx, kindQuery)), []string{"query>b", "query>c"}; !cmp.Equal(got, want) {
		t.Errorf("sends %v, want %v", got, want)
	}
	fx = s.receive(at.Add(time.Millisecond), addrOf("c"),
		packet{Kind: kindAnswer, From: "c", Subject: "b", ID: qid, Status: statusSilent, Version: version{1, 10}})
	if len(fx.sends) != 0 || len(s.dead()) != 0 {
		t.Fatalf("declared before the probe ended: %v", kinds(fx))
	}
	fx = s.probed(at.Add(p.probeTimeout), "b", pid, NoAnswer)
	if got, want := kinds(fx), []string{"dead>b", "dead>c"}; !cmp.Equal(got, want) || !fx.changed {
		t.Fatalf("sends %v changed %t, want %v and a change", got, fx.changed, want)
	}
	if got := s.dead(); !slices.Equal(got, []string{"b"}) || s.peers["b"].deadVer != (version{1, 10}) {
		t.Errorf("dead %v at %v, want [b] at 1.10", got, s.peers["b"].deadVer)
	}
	// The verdict is sent Retransmits times in all.
	n := 1
	for now := at.Add(p.probeTimeout); now.Before(at.Add(time.Second)); now = now.Add(time.Millisecond) {
		for _, snd := range s.tick(now).sends {
			if snd.pkt.Kind == kindDead && snd.to == addrOf("c") {
				n++
			}
		}
	}
	if n != p.retransmits {
		t.Errorf("verdict sent %d times to c, want %d", n, p.retransmits)
	}
}

func TestSuspicionRefuted(t *testing.T) {
	for _, tt := range []struct {
		name    string
		refute  func(s *state, at time.Time, qid, pid uint32) effects
		byProbe bool
	}{
		{"probe alive", func(s *state, at time.Time, _, pid uint32) effects { return s.probed(at, "b", pid, Alive) }, true},
		{"confirmer reached it", func(s *state, at time.Time, qid, _ uint32) effects {
			return s.receive(at, addrOf("c"), packet{Kind: kindAnswer, From: "c", Subject: "b", ID: qid, Status: statusHeard, Version: version{1, 10}})
		}, false},
		{"confirmer heard newer", func(s *state, at time.Time, qid, _ uint32) effects {
			return s.receive(at, addrOf("c"), packet{Kind: kindAnswer, From: "c", Subject: "b", ID: qid, Status: statusHeard, Version: version{1, 11}})
		}, false},
		{"suspect answered", func(s *state, at time.Time, qid, _ uint32) effects {
			return s.receive(at, addrOf("b"), packet{Kind: kindAnswer, From: "b", Subject: "b", ID: qid, Status: statusHeard, Version: version{1, 12}})
		}, false},
		{"heartbeat", func(s *state, at time.Time, _, _ uint32) effects { return s.receive(at, addrOf("b"), hb("b", 1, 11)) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, fx, at := suspectB()
			pid, qid := fx.probes[0].id, queryID(fx)
			tt.refute(s, at.Add(time.Millisecond), qid, pid)
			// A late confirmation and probe result change nothing.
			s.receive(at.Add(2*time.Millisecond), addrOf("c"), packet{Kind: kindAnswer, From: "c", Subject: "b", ID: qid, Status: statusSilent})
			s.probed(at.Add(3*time.Millisecond), "b", pid, NoAnswer)
			if s.stats.Refuted != 1 || s.stats.Verdicts != 0 || len(s.dead()) != 0 {
				t.Errorf("stats %+v, dead %v; want one refutation, no verdict", s.stats, s.dead())
			}
			if got := s.stats.RefutedByProbe == 1; got != tt.byProbe {
				t.Errorf("refuted by probe: %t, want %t", got, tt.byProbe)
			}
		})
	}
}

func TestNoSuspicionRightAfterStall(t *testing.T) {
	p := testParams()
	s := newTestState()
	s.receive(t0, addrOf("b"), hb("b", 1, 10))
	s.receive(t0, addrOf("c"), hb("c", 1, 10))
	run(s, t0, t0.Add(p.interval))
	// We wake 200 ms late: b's and c's heartbeats may wait in the socket.
	late := t0.Add(200 * time.Millisecond)
	if fx := s.tick(late); len(fx.probes) != 0 || s.stats.Stalls != 1 {
		t.Fatalf("suspected at once after a stall (probes %v, stalls %d)", fx.probes, s.stats.Stalls)
	}
	s.receive(late.Add(time.Millisecond), addrOf("b"), hb("b", 1, 19))
	s.nextWake()
	// Late again right after the hold: no second hold, c (still silent)
	// is suspected; b, just heard, is not.
	again := late.Add(p.holdAfterStall() + p.stallLimit() + time.Millisecond)
	fx := s.tick(again)
	if len(fx.probes) != 1 || fx.probes[0].subject != "c" || s.stats.Stalls != 2 {
		t.Errorf("late again: probes %+v, stalls %d; want c's probe, 2 stalls", fx.probes, s.stats.Stalls)
	}
}

func TestAnswerStatus(t *testing.T) {
	s := newTestState("d", "e", "f", "g")
	s.receive(t0, addrOf("b"), hb("b", 1, 10))
	// Who among d..g a watches depends on the ring; pick one it does not
	// watch and has not heard.
	var stranger string
	for _, n := range []string{"d", "e", "f", "g"} {
		if !s.peers[n].watched {
			stranger = n
		}
	}
	tests := []struct {
		subject string
		asked   version
		probe   Liveness // Unprobed: answered at once
		want    status
		ver     version
	}{
		{"a", version{100, 5}, Unprobed, statusHeard, s.ver},
		{"nobody", version{}, Unprobed, statusUnknown, version{}},
		{"b", version{1, 9}, Unprobed, statusHeard, version{1, 10}},
		{"b", version{1, 10}, NoAnswer, statusSilent, version{1, 10}},
		{"b", version{1, 10}, Refused, statusSilent, version{1, 10}},
		{"b", version{1, 10}, Alive, statusHeard, version{1, 10}},
		{stranger, version{1, 1}, Unprobed, statusUnknown, version{}},
	}
	for _, tt := range tests {
		fx := s.receive(t0, addrOf("c"), packet{Kind: kindQuery, From: "c", Subject: tt.subject, ID: 9, Version: tt.asked})
		if tt.probe != Unprobed {
			if len(fx.sends) != 0 || len(fx.probes) != 1 {
				t.Fatalf("query about %s at %v: sent %v, probes %v; want a probe first", tt.subject, tt.asked, kinds(fx), fx.probes)
			}
			fx = s.probed(t0, tt.subject, fx.probes[0].id, tt.probe)
		}
		want := []send{{to: addrOf("c"), pkt: packet{Kind: kindAnswer, From: "a", Subject: tt.subject, ID: 9, Status: tt.want, Version: tt.ver}}}
		if diff := cmp.Diff(want, fx.sends, cmp.AllowUnexported(send{}), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
			t.Errorf("query about %s at %v, probe %v (-want +got):\n%s", tt.subject, tt.asked, tt.probe, diff)
		}
	}
}

func TestOneProbeServesSuspicionAndQueries(t *testing.T) {
	p := testParams()
	s, fx, at := suspectB()
	if len(fx.probes) != 1 {
		t.Fatalf("probes %v, want one", fx.probes)
	}
	// c suspects b too and asks us, twice: no second probe.
	q := packet{Kind: kindQuery, From: "c", Subject: "b", ID: 77, Version: version{1, 10}}
	for range 2 {
		if fx := s.receive(at, addrOf("c"), q); len(fx.probes)+len(fx.sends) != 0 {
			t.Fatalf("query while probing: probes %v, sends %v", fx.probes, kinds(fx))
		}
	}
	fx = s.probed(at.Add(p.probeTimeout), "b", fx.probes[0].id, NoAnswer)
	if got, want := kinds(fx), []string{"answer>c"}; !slices.Equal(got, want) {
		t.Errorf("after the probe: sends %v, want %v (one answer, and no verdict before c confirms)", got, want)
	}
}
