package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	speakerASN = 64512
	routerASN  = 64513
)

// runningServer is a Server whose Run goroutine the test controls.
type runningServer struct {
	*Server
	cancel context.CancelFunc
	done   chan error
}

// stop ends Run and returns its error. Safe to call twice.
func (r *runningServer) stop() error {
	r.cancel()
	err, ok := <-r.done
	if !ok {
		return nil
	}
	close(r.done)
	return err
}

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("PYLON_BGP_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer builds and runs a Server; cleanup stops it.
func startServer(t testing.TB, cfg Config) *runningServer {
	t.Helper()
	if !cfg.RouterID.IsValid() {
		cfg.RouterID = netip.MustParseAddr("192.0.2.1")
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningServer{Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ebgpPeer is a session from us (speakerASN) to a router at addr (routerASN).
func ebgpPeer(name string, addr netip.Addr) PeerConfig {
	return PeerConfig{Name: name, MyASN: speakerASN, PeerASN: routerASN, Address: addr, HoldTime: 9 * time.Second,
		KeepaliveTime: 3 * time.Second, ConnectTime: 5 * time.Second}
}

func sessionOf(s Speaker, name string) (SessionState, bool) {
	for _, st := range s.Sessions() {
		if st.Name == name {
			return st, true
		}
	}
	return SessionState{}, false
}

// waitEstablished waits until every named session is Established.
func waitEstablished(t testing.TB, s Speaker, names ...string) {
	t.Helper()
	waitFor(t, 30*time.Second, "sessions established", func() error {
		for _, n := range names {
			if st, _ := sessionOf(s, n); st.State != StateEstablished {
				return fmt.Errorf("%s is %s (%s)", n, st.State, st.LastError)
			}
		}
		return nil
	})
}

// waitRoute waits until prefix is (present) or is not (!present) in FRR's
// BGP table for family.
func waitRoute(t testing.TB, f *frr, family, prefix string, present bool) {
	t.Helper()
	waitFor(t, 15*time.Second, fmt.Sprintf("%s present=%v at %s", prefix, present, f.l.NS), func() error {
		if _, ok := f.table(t, family)[prefix]; ok != present {
			return errors.New("not yet")
		}
		return nil
	})
}

// waitKernel waits until a route for dest is (not) in the router's kernel.
func waitKernel(t testing.TB, l *link, family, dest string, present bool) {
	t.Helper()
	waitFor(t, 15*time.Second, fmt.Sprintf("kernel route %s present=%v", dest, present), func() error {
		if containsRoute(l.routes(t, family), dest) != present {
			return errors.New("not yet")
		}
		return nil
	})
}

// containsRoute reports whether `ip route` output has a route for dest.
func containsRoute(routes, dest string) bool {
	return strings.Contains(routes, dest+" ")
}
