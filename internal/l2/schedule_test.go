package l2

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSendStateDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := func(sent int) sendState { return sendState{start: t0, sent: sent} }
	tests := []struct {
		name    string
		state   sendState
		refresh time.Duration
		want    time.Duration // offset from t0; -1 for none
	}{
		{"first", s(0), time.Minute, 0},
		{"second", s(1), time.Minute, 500 * time.Millisecond},
		{"third", s(2), time.Minute, 2 * time.Second},
		{"fourth", s(3), time.Minute, 5 * time.Second},
		{"first refresh", s(4), time.Minute, 65 * time.Second},
		{"second refresh", s(5), time.Minute, 125 * time.Second},
		{"refresh off", s(4), 0, -1},
		{"burst with refresh off", s(3), 0, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, ok := tt.state.due(tt.refresh)
			if tt.want < 0 {
				if ok {
					t.Errorf("due = %v, want none", at.Sub(t0))
				}
				return
			}
			if !ok || at.Sub(t0) != tt.want {
				t.Errorf("due = %v (%v), want %v", at.Sub(t0), ok, tt.want)
			}
		})
	}
}

func TestScheduleTakeDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	s := schedule{}
	s.apply(map[string]change{"eth0": {added: []netip.Addr{b, a}}, "eth1": {added: []netip.Addr{a}}}, t0)

	steps := []struct {
		at   time.Duration
		want map[string][]netip.Addr
	}{
		{0, map[string][]netip.Addr{"eth0": {a, b}, "eth1": {a}}},
		{100 * time.Millisecond, map[string][]netip.Addr{}},
		{500 * time.Millisecond, map[string][]netip.Addr{"eth0": {a, b}, "eth1": {a}}},
		// A stall past two due times sends once.
		{6 * time.Second, map[string][]netip.Addr{"eth0": {a, b}, "eth1": {a}}},
		{7 * time.Second, map[string][]netip.Addr{}},
		{35 * time.Second, map[string][]netip.Addr{"eth0": {a, b}, "eth1": {a}}},
	}
	for _, st := range steps {
		got := s.takeDue(t0.Add(st.at), 30*time.Second)
		if diff := cmp.Diff(st.want, got, addrCmp); diff != "" {
			t.Fatalf("at %v (-want +got):\n%s", st.at, diff)
		}
	}
	next, ok := s.next(30 * time.Second)
	if !ok || next.Sub(t0) != 65*time.Second {
		t.Errorf("next = %v, %v; want 65s", next.Sub(t0), ok)
	}
	s.apply(map[string]change{"eth0": {removed: []netip.Addr{a, b}}, "eth1": {removed: []netip.Addr{a}}}, t0)
	if _, ok := s.next(30 * time.Second); ok {
		t.Error("next after removing everything")
	}
}

func TestScheduleRestart(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := netip.MustParseAddr("10.0.0.1")
	s := schedule{}
	s.apply(map[string]change{"eth0": {added: []netip.Addr{a}}}, t0)
	for _, at := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
		s.takeDue(t0.Add(at), 30*time.Second)
	}
	t1 := t0.Add(10 * time.Second)
	s.restart(t1)
	want := map[string][]netip.Addr{"eth0": {a}}
	for _, at := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 35 * time.Second} {
		if diff := cmp.Diff(want, s.takeDue(t1.Add(at), 30*time.Second), addrCmp); diff != "" {
			t.Fatalf("at +%v after restart (-want +got):\n%s", at, diff)
		}
	}
}
