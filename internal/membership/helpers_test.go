package membership

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// testKey is the cluster key of the tests.
var testKey = []byte("0123456789abcdef")

// testLogger returns a logger that writes to t until the test ends and
// drops records afterwards (memberlist may log from a goroutine that is
// still winding down).
func testLogger(t testing.TB, level slog.Level) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// runner is a Membership running in a goroutine.
type runner struct {
	*Membership
	cancel context.CancelFunc
	done   chan error
}

// start runs m until stop (or the end of the test) and waits until it is
// ready.
func start(t testing.TB, m *Membership) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{Membership: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-m.Ready():
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run of %s: %v", m.cfg.NodeName, err)
	}
	return r
}

// stop cancels Run and checks that it returns nil. It may be called more
// than once.
func (r *runner) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	err := <-r.done
	r.done <- err
	if err != nil {
		t.Errorf("Run of %s returned %v", r.cfg.NodeName, err)
	}
}

// crash stops memberlist without leaving: its sockets (or fake transport)
// close, so peers must detect the death. Run's later leave is skipped.
func (m *Membership) crash() {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.left.Store(true)
	_ = m.list.Shutdown()
}

// names returns the names of members.
func names(members []Member) []string {
	out := make([]string, 0, len(members))
	for _, m := range members {
		out = append(out, m.Name)
	}
	return out
}

// waitFor waits, reading m.Changed, until cond holds for m.Members(), and
// returns how long it took. It fails the test after limit. The limit is a
// liveness guard, not a speed assertion.
func waitFor(t testing.TB, m *Membership, limit time.Duration, what string, cond func([]Member) bool) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !cond(m.Members()) {
		select {
		case <-m.Changed():
		case <-deadline.C:
			t.Fatalf("%s: %s not reached after %v; members %v", m.cfg.NodeName, what, limit, m.Members())
		}
	}
	return time.Since(began)
}

// waitNames waits until m's member names are want.
func waitNames(t testing.TB, m *Membership, limit time.Duration, want ...string) time.Duration {
	t.Helper()
	return waitFor(t, m, limit, "members "+joinNames(want), func(ms []Member) bool {
		return slices.Equal(names(ms), want)
	})
}

func joinNames(ns []string) string {
	out := "["
	for i, n := range ns {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out + "]"
}

// without returns all minus drop, in order.
func without(all []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == drop })
}

// addrs returns the local addresses of rs.
func addrs(rs ...*runner) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.LocalAddr())
	}
	return out
}
