package bgp

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{RouterID: netip.MustParseAddr("fd00::1")},
		{RouterID: netip.IPv4Unspecified()},
		{RouterID: rid, ListenPort: -2},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) error = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

// TestServerLifecycle runs gobgp without reaching any router (the peer is
// a closed port on loopback): calls wait for Run, state is reported, calls
// after Run fail with ErrStopped. It needs no privileges.
func TestServerLifecycle(t *testing.T) {
	s, err := New(Config{RouterID: rid, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	peer := PeerConfig{Name: "lo", MyASN: 64512, PeerASN: 64513, Address: netip.MustParseAddr("127.0.0.1"), Port: 1,
		BFD: &BFDConfig{}, GracefulRestart: true}
	bad := PeerConfig{Name: "bad", Address: netip.MustParseAddr("127.0.0.2"), BFD: &BFDConfig{EchoMode: true}}
	setErr := make(chan error, 1)
	go func() { setErr <- s.SetPeers(ctx, []PeerConfig{peer, bad}) }() // waits for Run

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	if err := <-setErr; !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetPeers error = %v, want ErrInvalidConfig for the bad peer", err)
	}
	if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix("192.0.2.10/32")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPath(ctx, Path{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("SetPath of an empty path: %v", err)
	}
	if err := s.DeletePath(ctx, netip.MustParsePrefix("192.0.2.99/32")); err != nil {
		t.Errorf("DeletePath of an unknown prefix: %v", err)
	}
	p10, p12 := netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("192.0.2.12/32")
	for _, c := range []struct {
		paths []Path
		want  PathChanges
	}{
		{[]Path{{Prefix: p10}, {Prefix: p12}}, PathChanges{Announced: 1}},                             // 10 is already there
		{[]Path{{Prefix: p10}, {Prefix: p12}}, PathChanges{}},                                         // nothing new
		{[]Path{{Prefix: p12, Communities: []uint32{7, 7}}}, PathChanges{Announced: 1, Withdrawn: 1}}, // 10 goes, 12 changes
		{[]Path{{Prefix: p12, Communities: []uint32{7}}}, PathChanges{}},                              // the same once normalized
		{[]Path{{Prefix: p12, Communities: []uint32{7}, Weight: 2}}, PathChanges{Announced: 1}},       // a new weight replaces, never withdraws
		{[]Path{{Prefix: p12, Communities: []uint32{7}, Weight: 3}}, PathChanges{Announced: 1}},
		{[]Path{{Prefix: p12, Communities: []uint32{7}, Weight: 3}}, PathChanges{}},
	} {
		ch, err := s.SetPaths(ctx, c.paths)
		if err != nil || ch != c.want {
			t.Errorf("SetPaths(%v) = %+v, %v; want %+v", c.paths, ch, err, c.want)
		}
	}
	if _, err := s.SetPaths(ctx, []Path{{Prefix: p12}, {}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("SetPaths with an empty path: %v, want ErrInvalidConfig", err)
	}
	got := s.Sessions()
	if len(got) != 1 || got[0].Name != "lo" || got[0].State == StateEstablished || got[0].BFD == BFDDisabled || got[0].PrefixesSent != 0 {
		t.Errorf("Sessions() = %+v, want lo, not established, with BFD, nothing sent", got)
	}
	if err := s.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix("192.0.2.11/32")}); !errors.Is(err, ErrStopped) {
		t.Errorf("SetPath after Run: %v, want ErrStopped", err)
	}
}
