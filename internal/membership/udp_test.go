package membership

import (
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"
)

// These tests use real UDP and TCP sockets on 127.0.0.1. Durations are
// logged, never asserted: the machine is shared.

// udpMember starts a member on 127.0.0.1 (port 0: the kernel picks) that
// joins peers.
func udpMember(t testing.TB, name string, port int, peers []netip.AddrPort, mutate func(*Config)) *runner {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeName, cfg.SecretKey = name, testKey
	cfg.BindAddr, cfg.AdvertiseAddr, cfg.BindPort = "127.0.0.1", "127.0.0.1", port
	cfg.Logger = testLogger(t, slog.LevelWarn)
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	m.SetPeers(peers)
	return start(t, m)
}

// udpThree starts a, b, c on loopback and waits until all see all.
func udpThree(t testing.TB) (a, b, c *runner) {
	t.Helper()
	a = udpMember(t, "a", 0, nil, nil)
	b = udpMember(t, "b", 0, addrs(a), nil)
	c = udpMember(t, "c", 0, addrs(a, b), nil)
	for _, r := range []*runner{a, b, c} {
		waitNames(t, r.Membership, liveness, "a", "b", "c")
	}
	return a, b, c
}

func TestUDPCluster(t *testing.T) {
	base := runtime.NumGoroutine()
	began := time.Now()
	a, b, c := udpThree(t)
	t.Logf("three members joined after %v", time.Since(began))

	port := c.LocalAddr().Port()
	crashed := time.Now()
	c.crash()
	for _, r := range []*runner{a, b} {
		waitNames(t, r.Membership, liveness, "a", "b")
		t.Logf("%s dropped crashed c after %v", r.cfg.NodeName, time.Since(crashed))
	}

	restarted := time.Now()
	c2 := udpMember(t, "c", int(port), addrs(a), nil)
	for _, r := range []*runner{a, b, c2} {
		waitNames(t, r.Membership, liveness, "a", "b", "c")
	}
	t.Logf("restarted c (same name and port) accepted by all after %v", time.Since(restarted))

	stopped := time.Now()
	b.stop(t)
	for _, r := range []*runner{a, c2} {
		waitNames(t, r.Membership, liveness, "a", "c")
		t.Logf("%s dropped b %v after its Run was cancelled (graceful)", r.cfg.NodeName, time.Since(stopped))
	}

	for _, r := range []*runner{a, c, c2} {
		r.stop(t)
	}
	checkGoroutines(t, base)
}

// checkGoroutines waits until the goroutine count is back to base:
// memberlist's goroutines end shortly after Shutdown, not during it.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUDPEncryptionRequired(t *testing.T) {
	a := udpMember(t, "a", 0, nil, nil)
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"insecure", func(c *Config) { c.SecretKey, c.Insecure = nil, true }},
		{"wrong key", func(c *Config) { c.SecretKey = []byte("fedcba9876543210") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := udpMember(t, "x", 0, nil, func(c *Config) {
				tc.mutate(c)
				c.Logger = testLogger(t, slog.LevelError)
			})
			if n, err := x.Join([]string{a.LocalAddr().String()}); err == nil {
				t.Errorf("Join succeeded with %d peers", n)
			}
			// Probes or gossip from x must not sneak it in either.
			time.Sleep(500 * time.Millisecond)
			if got := names(a.Members()); !slices.Equal(got, []string{"a"}) {
				t.Errorf("a sees %v, want [a]", got)
			}
		})
	}
}

// BenchmarkCrashDetectionUDP measures, on loopback, the time from a
// member's crash (sockets closed, no leave) until both survivors dropped
// it: ms/detect.
func BenchmarkCrashDetectionUDP(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		ra, rb, rc := udpThree(b)
		b.StartTimer()
		crashed := time.Now()
		rc.crash()
		waitNames(b, ra.Membership, liveness, "a", "b")
		waitNames(b, rb.Membership, liveness, "a", "b")
		total += time.Since(crashed)
		b.StopTimer()
		for _, r := range []*runner{ra, rb, rc} {
			r.stop(b)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/detect")
}
