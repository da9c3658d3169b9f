package bgp

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func frrBFDState(t testing.TB, f *frr, peer string) string {
	t.Helper()
	out, err := f.vtysh("show bfd peers json")
	if err != nil {
		t.Fatal(err)
	}
	var v []struct {
		Peer   string `json:"peer"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("parse FRR BFD peers: %v: %s", err, out)
	}
	for _, p := range v {
		if p.Peer == peer {
			return p.Status
		}
	}
	return "absent"
}

// TestFRRBFDLinkCut: with BFD (100 ms x 3 on both sides) a cut link takes
// the route out of FRR's table and kernel well before the 9 s hold time.
// The figures are logged, not asserted.
func TestFRRBFDLinkCut(t *testing.T) {
	l := newSwitchedLink(t)
	peer := l.Local4.String()
	f := startFRR(t, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{peer: speakerASN},
		" neighbor "+peer+" bfd profile fast\n",
		""), true)
	// bfdd does not read profiles from the startup file.
	f.configure(t, "bfd", "profile fast", "receive-interval 100", "transmit-interval 100", "detect-multiplier 3")
	s := startServer(t, Config{})
	ctx := ctxT(t)
	p := ebgpPeer("r", l.Remote4)
	p.BFD = &BFDConfig{ReceiveInterval: 100 * time.Millisecond, TransmitInterval: 100 * time.Millisecond, DetectMultiplier: 3}
	if err := s.SetPeers(ctx, []PeerConfig{p}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "r")
	waitFor(t, 15*time.Second, "BFD up on both sides", func() error {
		st, _ := sessionOf(s, "r")
		if fs := frrBFDState(t, f, peer); st.BFD != BFDUp || fs != "up" {
			return fmt.Errorf("ours %s, FRR's %s", st.BFD, fs)
		}
		return nil
	})
	pfx := netip.MustParsePrefix("198.51.100.50/32")
	if err := s.SetPath(ctx, Path{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, l, "-4", "198.51.100.50", true)

	t.Logf("FRR's BFD session before the cut:\n%s", mustVtysh(t, f, "show bfd peers"))
	// Three watchers, each polling as fast as its probe allows.
	type mark struct {
		what string
		d    time.Duration
	}
	marks := make(chan mark, 3)
	start := time.Now()
	watch := func(what string, gone func() bool) {
		for time.Since(start) < 20*time.Second {
			if gone() {
				marks <- mark{what, time.Since(start)}
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		marks <- mark{what, -1}
	}
	l.cut(t, false)
	go watch("FRR BGP table", func() bool {
		out, err := f.vtysh("show bgp ipv4 unicast " + pfx.String() + " json")
		return err == nil && !strings.Contains(out, "paths")
	})
	go watch("FRR kernel", func() bool {
		out, err := run("ip", "-n", l.NS, "route", "show", pfx.Addr().String())
		return err == nil && strings.TrimSpace(out) == ""
	})
	go watch("our session", func() bool {
		st, _ := sessionOf(s, "r")
		return st.State != StateEstablished
	})
	for range 3 {
		m := <-marks
		if m.d < 0 {
			t.Fatalf("%s: route still there after 20s", m.what)
		}
		t.Logf("FIGURE link cut -> %s: %v (BFD 100ms x 3; hold time 9s)", m.what, m.d)
	}

	l.cut(t, true)
	waitEstablished(t, s, "r")
	waitKernel(t, l, "-4", "198.51.100.50", true)
}
