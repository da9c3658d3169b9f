package bench

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseIPMonitor(t *testing.T) {
	at := time.Date(2026, 11, 25, 21, 46, 54, 825491000, time.UTC)
	for _, c := range []struct {
		line string
		want routeEvent
		ok   bool
	}{
		{"[2026-11-25T21:46:54.825491] 198.51.100.1 nhid 17 proto bgp metric 20 ",
			routeEvent{at: at, prefix: netip.MustParsePrefix("198.51.100.1/32")}, true},
		{"[2026-11-25T21:46:54.825491] Deleted 198.51.100.1 nhid 17 proto bgp metric 20",
			routeEvent{at: at, prefix: netip.MustParsePrefix("198.51.100.1/32"), deleted: true}, true},
		{"[2026-11-25T21:46:54.825491] 198.51.100.64/26 nhid 3 proto bgp metric 20",
			routeEvent{at: at, prefix: netip.MustParsePrefix("198.51.100.64/26")}, true},
		{"[2026-11-25T21:46:54.825491] 2001:db8:100::5 nhid 21 proto bgp metric 20 pref medium",
			routeEvent{at: at, prefix: netip.MustParsePrefix("2001:db8:100::5/128")}, true},
		{"\tnexthop via 192.168.77.11 dev eth0 weight 1", routeEvent{}, false},
		{"[2026-11-25T21:46:54.825491] local 10.0.0.1 dev lo table local", routeEvent{}, false},
		{"[2026-11-25T21:46:54.825491] Deleted", routeEvent{}, false},
		{"[garbage] 198.51.100.1", routeEvent{}, false},
		{"", routeEvent{}, false},
	} {
		got, ok := parseIPMonitor(c.line, time.UTC)
		if ok != c.ok || got != c.want {
			t.Errorf("parseIPMonitor(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func TestParseFRRLog(t *testing.T) {
	at := time.Date(2026, 11, 25, 21, 49, 5, 35322000, time.UTC)
	n1 := netip.MustParseAddr("192.168.77.11")
	for _, c := range []struct {
		line string
		want frrEvent
		ok   bool
	}{
		{"2026/11/25 21:49:05.035322 BGP: [YCKEM-GB33T] 192.168.77.11(vm) rcvd 198.51.100.1/32 IPv4 unicast",
			frrEvent{at: at, peer: n1, prefix: netip.MustParsePrefix("198.51.100.1/32")}, true},
		{"2026/11/25 21:49:05.035322 BGP: [YCKEM-GB33T] fd00:77::11(vm) rcvd 2001:db8:100::/128 IPv6 unicast",
			frrEvent{at: at, peer: netip.MustParseAddr("fd00:77::11"), prefix: netip.MustParsePrefix("2001:db8:100::/128")}, true},
		{"2026/11/25 21:49:05.035322 BGP: [ZWCSR-M7FG9] 192.168.77.11 went from Established to Clearing",
			frrEvent{at: at, peer: n1, down: true}, true},
		{"2026/11/25 21:49:05.035322 BGP: [ZWCSR-M7FG9] 192.168.77.11 went from OpenConfirm to Established", frrEvent{}, false},
		{"2026/11/25 21:49:05.035322 BGP: [PCFFM-WMARW] 192.168.77.11(vm) rcvd UPDATE wlen 0 attrlen 20 alen 5", frrEvent{}, false},
		{"2026/11/25 21:49:05 BGP: [YCKEM-GB33T] 192.168.77.11(vm) rcvd 198.51.100.1/32 IPv4 unicast", frrEvent{}, false},
		{"2026/11/25 21:49:05.035322 ZEBRA: [X] 192.168.77.11 rcvd 198.51.100.1/32", frrEvent{}, false},
		{"", frrEvent{}, false},
	} {
		got, ok := parseFRRLog(c.line, time.UTC)
		if ok != c.ok || got != c.want {
			t.Errorf("parseFRRLog(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func TestParseFRRSummary(t *testing.T) {
	got, err := parseFRRSummary([]byte(`{"peers":{"192.168.77.11":{"pfxRcd":1000},"fd00:77::11":{"pfxRcd":3},"RANGE0":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]int{netip.MustParseAddr("192.168.77.11"): 1000, netip.MustParseAddr("fd00:77::11"): 3}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Error(d)
	}
	if _, err := parseFRRSummary([]byte("{")); err == nil {
		t.Error("no error for broken JSON")
	}
}

func TestEventLog(t *testing.T) {
	l := newEventLog()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.add("k", t0)
	l.add("k", t0.Add(time.Second))
	ctx := context.Background()
	if at, err := l.wait(ctx, "k", t0.Add(time.Millisecond)); err != nil || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("wait after the first event = %v, %v", at, err)
	}
	done := make(chan time.Time)
	go func() {
		at, _ := l.wait(ctx, "later", t0)
		done <- at
	}()
	l.add("later", t0.Add(time.Minute))
	if at := <-done; !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("waiter got %v", at)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.wait(cctx, "never", t0); err == nil {
		t.Error("no error for a cancelled wait")
	}
}

func FuzzParseIPMonitor(f *testing.F) {
	f.Add("[2026-11-25T21:46:54.825491] Deleted 198.51.100.1 nhid 17 proto bgp metric 20")
	f.Add("[2026-11-25T21:46:54.825491] 2001:db8::/64 dev eth0")
	f.Fuzz(func(t *testing.T, line string) {
		ev, ok := parseIPMonitor(line, time.UTC)
		if ok && (!ev.prefix.IsValid() || ev.prefix != ev.prefix.Masked()) {
			t.Errorf("%q: invalid prefix %v", line, ev.prefix)
		}
	})
}

func FuzzParseFRRLog(f *testing.F) {
	f.Add("2026/11/25 21:49:05.035322 BGP: [YCKEM-GB33T] 192.168.77.11(vm) rcvd 198.51.100.1/32 IPv4 unicast")
	f.Add("2026/11/25 21:49:05.035322 BGP: [ZWCSR-M7FG9] 192.168.77.11 went from Established to Clearing")
	f.Fuzz(func(t *testing.T, line string) {
		ev, ok := parseFRRLog(line, time.UTC)
		if ok && (!ev.peer.IsValid() || ev.down == ev.prefix.IsValid()) {
			t.Errorf("%q: inconsistent event %+v", line, ev)
		}
	})
}
