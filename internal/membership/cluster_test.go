package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests run whole clusters on a fakeNet inside a synctest bubble:
// time is simulated, so durations are the protocol's own (no CPU or
// scheduling noise) and a 30 s wait costs nothing. synctest.Test also fails
// if any goroutine outlives the test: the leak check.

// liveness bounds every wait; it is far above any expected figure.
const liveness = 30 * time.Second

// fakeCluster starts members on one fakeNet.
type fakeCluster struct {
	t   *testing.T
	net *fakeNet
	all []netip.AddrPort
}

// newFakeCluster must be called inside the bubble. Its cleanup lets
// memberlist's last goroutines (TCP fallback pings, stream handlers) finish
// after every member stopped, before the bubble ends.
func newFakeCluster(t *testing.T) *fakeCluster {
	t.Cleanup(func() { time.Sleep(10 * time.Second) })
	return &fakeCluster{t: t, net: newFakeNet()}
}

// member starts a member named name at 10.0.0.host:7946 whose peers are
// all members started so far and itself.
func (c *fakeCluster) member(name string, host int, mutate func(*Config)) (*runner, *fakeTransport) {
	c.t.Helper()
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(host)}), DefaultPort)
	tr := c.net.transport(addr.String())
	cfg := DefaultConfig()
	cfg.NodeName, cfg.SecretKey, cfg.transport = name, testKey, tr
	cfg.Logger = testLogger(c.t, slog.LevelWarn)
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		c.t.Fatalf("New(%s): %v", name, err)
	}
	if !slices.Contains(c.all, addr) {
		c.all = append(c.all, addr)
	}
	m.SetPeers(c.all)
	return start(c.t, m), tr
}

// three starts members a, b and c and waits until all see all.
func (c *fakeCluster) three() (a, b, cc *runner, trs []*fakeTransport) {
	c.t.Helper()
	a, ta := c.member("a", 1, nil)
	b, tb := c.member("b", 2, nil)
	cc, tc := c.member("c", 3, nil)
	for _, r := range []*runner{a, b, cc} {
		waitNames(c.t, r.Membership, liveness, "a", "b", "c")
	}
	return a, b, cc, []*fakeTransport{ta, tb, tc}
}

func TestJoinThreeSorted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		// Start in reverse order so sorting is not an accident.
		z, _ := c.member("zeta", 1, nil)
		m, _ := c.member("mu", 2, nil)
		a, _ := c.member("alpha", 3, nil)
		for _, r := range []*runner{z, m, a} {
			took := waitNames(t, r.Membership, liveness, "alpha", "mu", "zeta")
			t.Logf("%s sees all three after %v", r.cfg.NodeName, took)
		}
		want := []Member{
			{Name: "alpha", Addr: netip.MustParseAddrPort("10.0.0.3:7946"), AddrsKnown: true},
			{Name: "mu", Addr: netip.MustParseAddrPort("10.0.0.2:7946"), AddrsKnown: true},
			{Name: "zeta", Addr: netip.MustParseAddrPort("10.0.0.1:7946"), AddrsKnown: true},
		}
		if diff := cmp.Diff(want, z.Members(), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
			t.Errorf("Members() (-want +got):\n%s", diff)
		}
	})
}

func TestChangedFiresOnJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, _ := c.member("a", 1, nil)
		drain(a.Changed())
		c.member("b", 2, nil)
		select {
		case <-a.Changed():
		case <-time.After(liveness):
			t.Fatal("Changed did not fire when b joined")
		}
	})
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestGracefulLeaveRemovesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, b, cc, _ := c.three()
		began := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- b.Leave(time.Second) }()
		// Failure detection would need at least ProbeInterval plus the
		// suspicion minimum (400 ms): well under that means the leave
		// message did it. Simulated time, so this bound is exact.
		for _, r := range []*runner{a, cc} {
			waitNames(t, r.Membership, liveness, "a", "c")
			took := time.Since(began)
			t.Logf("%s dropped b %v after Leave began", r.cfg.NodeName, took)
			if took > 200*time.Millisecond {
				t.Errorf("%s dropped b after %v, want the leave message (< 200 ms)", r.cfg.NodeName, took)
			}
		}
		if err := <-errc; err != nil {
			t.Fatalf("Leave: %v", err)
		}
		t.Logf("Leave returned after %v", time.Since(began))
		if _, err := b.Join([]string{"10.0.0.1:7946"}); !errors.Is(err, ErrLeft) {
			t.Errorf("Join after Leave: got %v, want ErrLeft", err)
		}
	})
}

func TestRunStopLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, b, _, _ := c.three()
		b.stop(t)
		waitNames(t, a.Membership, 200*time.Millisecond, "a", "c")
		if got := b.Members(); got != nil {
			t.Errorf("Members() after Run returned = %v, want nil", got)
		}
		if _, err := b.Join(nil); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Join after Run returned: got %v, want ErrNotRunning", err)
		}
		if got := a.HealthScore(); got != 0 {
			t.Errorf("HealthScore() of a healthy member = %d, want 0", got)
		}
	})
}

// TestCrashDetected kills a member without a leave, in both ways a node
// fails, and logs how long the survivors took (simulated time: the
// protocol's own figure).
func TestCrashDetected(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*runner, *fakeTransport)
	}{
		{"crash", func(r *runner, _ *fakeTransport) { r.crash() }},
		{"link cut", func(_ *runner, tr *fakeTransport) { tr.setLink(linkCut) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var took []time.Duration
			for range 10 {
				synctest.Test(t, func(t *testing.T) {
					c := newFakeCluster(t)
					a, b, cc, trs := c.three()
					time.Sleep(time.Duration(len(took)) * 37 * time.Millisecond) // vary the phase
					failed := time.Now()
					tc.fail(cc, trs[2])
					for _, r := range []*runner{a, b} {
						waitNames(t, r.Membership, liveness, "a", "b")
						took = append(took, time.Since(failed))
					}
				})
			}
			slices.Sort(took)
			t.Logf("%s: time to dead on the survivors (n=%d): min %v p50 %v max %v",
				tc.name, len(took), took[0], took[len(took)/2], took[len(took)-1])
		})
	}
}

func TestLinkCutHeals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, b, cc, trs := c.three()
		trs[2].setLink(linkCut)
		waitNames(t, a.Membership, liveness, "a", "b")
		waitNames(t, cc.Membership, liveness, "c")
		trs[2].setLink(linkUp)
		began := time.Now()
		for _, r := range []*runner{a, b, cc} {
			waitNames(t, r.Membership, liveness, "a", "b", "c")
		}
		t.Logf("partition healed after %v", time.Since(began))
	})
}

// TestRestartSameName restarts a crashed member under the same name, at the
// same address and at a new one (a node whose IP changed).
func TestRestartSameName(t *testing.T) {
	for _, tc := range []struct {
		name string
		host int
		wait time.Duration // after the death, before the restart
	}{
		{"same address at once", 3, 0},
		{"same address after death", 3, 2 * time.Second},
		{"new address after death", 4, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeCluster(t)
				a, b, cc, _ := c.three()
				cc.crash()
				if tc.wait > 0 {
					waitNames(t, a.Membership, liveness, "a", "b")
					time.Sleep(tc.wait)
				}
				began := time.Now()
				c2, _ := c.member("c", tc.host, nil)
				for _, r := range []*runner{a, b, c2} {
					waitNames(t, r.Membership, liveness, "a", "b", "c")
				}
				t.Logf("restarted c accepted by all after %v", time.Since(began))
				want := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(tc.host)}), DefaultPort)
				if got := memberNamed(a.Members(), "c").Addr; got != want {
					t.Errorf("a sees c at %v, want %v", got, want)
				}
			})
		})
	}
}

func memberNamed(ms []Member, name string) Member {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

func TestDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, b, cc, _ := c.three()
		began := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- b.SetDraining(true, time.Second) }()
		isDraining := func(want bool) func([]Member) bool {
			return func(ms []Member) bool { return len(ms) == 3 && memberNamed(ms, "b").Draining == want }
		}
		for _, r := range []*runner{a, b, cc} {
			waitFor(t, r.Membership, liveness, "b draining", isDraining(true))
			t.Logf("%s sees b draining %v after SetDraining began", r.cfg.NodeName, time.Since(began))
		}
		if err := <-errc; err != nil {
			t.Fatalf("SetDraining(true): %v", err)
		}
		if diff := cmp.Diff([]string{"a", "c"}, Active(a.Members())); diff != "" {
			t.Errorf("Active (-want +got):\n%s", diff)
		}
		if err := b.SetDraining(false, time.Second); err != nil {
			t.Fatalf("SetDraining(false): %v", err)
		}
		waitFor(t, a.Membership, liveness, "b not draining", isDraining(false))
	})
}

func TestDrainingBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, _ := c.member("a", 1, nil)
		c.all = append(c.all, netip.MustParseAddrPort("10.0.0.4:7946"))

		m, err := New(Config{NodeName: "d", SecretKey: testKey, transport: c.net.transport("10.0.0.4:7946")})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetDraining(true, time.Second); err != nil {
			t.Fatalf("SetDraining before Run: %v", err)
		}
		m.SetPeers(c.all)
		start(t, m)
		waitFor(t, a.Membership, liveness, "d draining", func(ms []Member) bool {
			return memberNamed(ms, "d").Draining
		})
	})
}

// TestAnsweringAndJoined: a member sees the others' Answering flag, and
// Joined tells a member that merged a peer's view from one that has not.
func TestAnsweringAndJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, _ := c.member("a", 1, nil)
		synctest.Wait()
		if a.Joined() {
			t.Error("a alone reports Joined")
		}
		if err := a.SetAnswering(true, time.Second); err != nil {
			t.Fatalf("SetAnswering: %v", err)
		}
		b, _ := c.member("b", 2, nil)
		waitFor(t, b.Membership, liveness, "b sees a answering", func(ms []Member) bool {
			return len(ms) == 2 && memberNamed(ms, "a").Answering && !memberNamed(ms, "b").Answering
		})
		// b's view can hold a a moment before its Join call returns and
		// records the join: let the join finish.
		synctest.Wait()
		if !b.Joined() {
			t.Error("b sees a but does not report Joined")
		}
	})
}

// TestDepartedRestarting: a member that leaves marked Restarting is listed
// by Departed until it joins again; one that leaves unmarked is not.
func TestDepartedRestarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, b, cc, _ := c.three()
		if err := b.SetRestarting(true, time.Second); err != nil {
			t.Fatalf("SetRestarting: %v", err)
		}
		waitFor(t, a.Membership, liveness, "a sees b restarting", func(ms []Member) bool {
			return memberNamed(ms, "b").Restarting
		})
		if err := b.Leave(time.Second); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		if err := cc.Leave(time.Second); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		waitNames(t, a.Membership, liveness, "a")
		if d := a.Departed(); len(d) != 1 || d[0].Name != "b" || !d[0].Restarting {
			t.Fatalf("Departed = %+v, want b only", d)
		}
		c.member("b2", 2, func(cfg *Config) { cfg.NodeName = "b" })
		waitNames(t, a.Membership, liveness, "a", "b")
		if d := a.Departed(); len(d) != 0 {
			t.Errorf("Departed after b joined again = %+v", d)
		}
	})
}

func TestEncryptionRequired(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"insecure", func(c *Config) { c.SecretKey, c.Insecure = nil, true }},
		{"wrong key", func(c *Config) { c.SecretKey = []byte("fedcba9876543210") }},
		{"wrong key length", func(c *Config) { c.SecretKey = []byte("0123456789abcdef01234567") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeCluster(t)
				a, _ := c.member("a", 1, nil)
				b, _ := c.member("b", 2, nil)
				waitNames(t, a.Membership, liveness, "a", "b")
				x, _ := c.member("x", 3, func(cfg *Config) {
					tc.mutate(cfg)
					cfg.Logger = testLogger(t, slog.LevelError) // its failures are expected
				})
				if n, err := x.Join([]string{"10.0.0.1:7946", "10.0.0.2:7946"}); err == nil {
					t.Errorf("Join from %s succeeded with %d peers", tc.name, n)
				}
				time.Sleep(5 * time.Second) // retries and gossip would have merged by now
				for _, r := range []*runner{a, b} {
					if got := names(r.Members()); !slices.Equal(got, []string{"a", "b"}) {
						t.Errorf("%s sees %v, want [a b]", r.cfg.NodeName, got)
					}
				}
				if got := names(x.Members()); !slices.Equal(got, []string{"x"}) {
					t.Errorf("x sees %v, want [x]", got)
				}
			})
		})
	}
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		a, _ := c.member("a", 1, nil)
		if err := a.Run(t.Context()); !errors.Is(err, ErrAlreadyStarted) {
			t.Errorf("second Run: got %v, want ErrAlreadyStarted", err)
		}
	})
}

func TestNotRunning(t *testing.T) {
	m, err := New(Config{NodeName: "a", SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Join([]string{"127.0.0.1:1"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Join: got %v, want ErrNotRunning", err)
	}
	if err := m.Leave(time.Second); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Leave: got %v, want ErrNotRunning", err)
	}
	if got := m.Members(); got != nil {
		t.Errorf("Members() = %v, want nil", got)
	}
	if got := m.LocalAddr(); got.IsValid() {
		t.Errorf("LocalAddr() = %v, want zero", got)
	}
	if got := m.HealthScore(); got != -1 {
		t.Errorf("HealthScore() = %d, want -1", got)
	}
}

// TestManyMembers checks the tuning holds beyond three: ten members, one
// crashes.
func TestManyMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCluster(t)
		var rs []*runner
		var all []string
		for i := range 10 {
			name := fmt.Sprintf("n%02d", i)
			all = append(all, name)
			r, _ := c.member(name, i+1, nil)
			rs = append(rs, r)
		}
		for _, r := range rs {
			r.SetPeers(c.all)
		}
		for _, r := range rs {
			waitNames(t, r.Membership, liveness, all...)
		}
		crashed := time.Now()
		rs[9].crash()
		for _, r := range rs[:9] {
			waitNames(t, r.Membership, liveness, all[:9]...)
		}
		worst := time.Since(crashed)
		t.Logf("10 members: last survivor dropped the crashed member after %v", worst)
	})
}
