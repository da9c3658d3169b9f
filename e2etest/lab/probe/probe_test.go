package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// timeline builds samples 10 ms apart from a pattern: a node letter per
// success, '.' per failure.
func timeline(pattern string) []Sample {
	var out []Sample
	for i, c := range pattern {
		s := Sample{Seq: i, Start: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		if c == '.' {
			s.Err = "timeout"
		} else {
			s.Node = "node" + string(c)
		}
		out = append(out, s)
	}
	return out
}

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestOutages(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []Outage
	}{
		{"1111", nil},
		{"11..22", []Outage{{Start: ms(20), End: ms(40), Failed: 2}}},
		{"..1", []Outage{{Start: ms(0), End: ms(20), Failed: 2}}},
		{"1.1...2", []Outage{{Start: ms(10), End: ms(20), Failed: 1}, {Start: ms(30), End: ms(60), Failed: 3}}},
		{"11..", []Outage{{Start: ms(20), End: ms(30), Failed: 2, Open: true}}},
		{"", nil},
	} {
		got := Outages(timeline(tc.pattern))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Outages(%q) (-want +got):\n%s", tc.pattern, diff)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(timeline("11...22.2"))
	want := Summary{
		Total: 9, Failed: 4, ByNode: map[string]int{"node1": 2, "node2": 3},
		Outages:  []Outage{{Start: ms(20), End: ms(50), Failed: 3}, {Start: ms(70), End: ms(80), Failed: 1}},
		Longest:  30 * time.Millisecond,
		Handoffs: []Handoff{{At: ms(50), From: "node1", To: "node2"}},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	// Order of samples does not matter.
	rev := timeline("11...22.2")
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if diff := cmp.Diff(want.Outages, Outages(rev)); diff != "" {
		t.Errorf("Outages of reversed samples (-want +got):\n%s", diff)
	}
}

func TestProberRecordsOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		// node1 answers for 100 ms, then nothing answers (probes hang until
		// their timeout) for 200 ms, then node2 answers.
		do := func(ctx context.Context) (string, error) {
			switch el := time.Since(start); {
			case el < 100*time.Millisecond:
				return "node1", nil
			case el < 300*time.Millisecond:
				<-ctx.Done()
				return "", ctx.Err()
			default:
				return "node2", nil
			}
		}
		p, err := NewProber(ProberConfig{Do: do, Interval: 10 * time.Millisecond, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		p.Run(ctx)
		s := Summarize(p.Samples())
		if len(s.Outages) != 1 || s.Outages[0].Duration() != 200*time.Millisecond || s.Outages[0].Failed != 20 {
			t.Errorf("outages %+v, want one of 200 ms with 20 failed probes", s.Outages)
		}
		if len(s.Handoffs) != 1 || s.Handoffs[0].To != "node2" {
			t.Errorf("handoffs %+v", s.Handoffs)
		}
	})
}

func TestProberBoundsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }
		p, _ := NewProber(ProberConfig{Do: block, Interval: 10 * time.Millisecond, Timeout: time.Second, MaxInFlight: 3})
		ctx, cancel := context.WithTimeout(context.Background(), 55*time.Millisecond)
		defer cancel()
		p.Run(ctx)
		s := p.Samples()
		if len(s) != 6 || s[3].Err != "too many probes in flight" {
			t.Errorf("samples %+v, want 6 with the 4th refused", s)
		}
	})
	if _, err := NewProber(ProberConfig{}); !errors.Is(err, ErrNoProbe) {
		t.Errorf("NewProber without Do = %v", err)
	}
}

const neighJSON = `[{"dst":"192.168.77.130","dev":"eth0","lladdr":"02:77:00:00:00:0c","state":["REACHABLE"]},
{"dst":"192.168.77.131","dev":"eth0","state":["FAILED"]},
{"dst":"fd00:77::100","dev":"eth0","lladdr":"02:77:00:00:00:0b","router":null,"state":["STALE"]}]`

func TestParseNeigh(t *testing.T) {
	got, err := ParseNeigh([]byte(neighJSON))
	if err != nil {
		t.Fatal(err)
	}
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	want := []Neighbor{
		{IP: netip.MustParseAddr("192.168.77.130"), MAC: mac("02:77:00:00:00:0c"), Dev: "eth0", States: []string{"REACHABLE"}},
		{IP: netip.MustParseAddr("192.168.77.131"), Dev: "eth0", States: []string{"FAILED"}},
		{IP: netip.MustParseAddr("fd00:77::100"), MAC: mac("02:77:00:00:00:0b"), Dev: "eth0", States: []string{"STALE"}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("neighbours (-want +got):\n%s", diff)
	}
	if n, ok := NeighborOf(got, netip.MustParseAddr("192.168.77.131")); !ok || n.Resolved() {
		t.Errorf("FAILED entry %+v counts as resolved", n)
	}
	if n, _ := NeighborOf(got, netip.MustParseAddr("fd00:77::100")); !n.Resolved() {
		t.Errorf("STALE entry %+v not resolved", n)
	}
}

func FuzzParseNeigh(f *testing.F) {
	f.Add([]byte(neighJSON))
	f.Fuzz(func(t *testing.T, b []byte) { ParseNeigh(b) })
}
