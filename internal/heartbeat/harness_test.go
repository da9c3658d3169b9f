package heartbeat_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/internal/heartbeat"
	"github.com/pylonlb/pylon/internal/heartbeat/heartbeattest"
)

// cluster is n detectors on an in-memory network with a fake clock. It
// must be built and used inside a synctest bubble: advance steps the clock
// and waits until every goroutine is idle, so each test is deterministic.
type cluster struct {
	t     *testing.T
	clk   *clocktesting.FakeClock
	net   *heartbeattest.Network
	cfg   heartbeat.Config
	nodes []*node
}

// node is one member of a cluster.
type node struct {
	name   string
	addr   netip.AddrPort
	d      *heartbeat.Detector
	cancel context.CancelFunc
	done   chan error
}

// epoch is the fake clock's start: any fixed time.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testConfig is DefaultConfig on the fake network, without a key.
func testConfig() heartbeat.Config {
	cfg := heartbeat.DefaultConfig()
	cfg.Insecure = true
	return cfg
}

// newCluster starts n nodes, all peers of each other, and lets them settle
// for a second. Nodes are stopped when the test ends.
func newCluster(t *testing.T, n int, cfg heartbeat.Config) *cluster {
	t.Helper()
	clk := clocktesting.NewFakeClock(epoch)
	c := &cluster{t: t, clk: clk, net: heartbeattest.NewNetwork(clk), cfg: cfg}
	for i := range n {
		c.nodes = append(c.nodes, &node{
			name: fmt.Sprintf("node-%d", i),
			addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), heartbeat.DefaultPort),
		})
	}
	for _, nd := range c.nodes {
		c.start(nd)
	}
	t.Cleanup(c.stopAll)
	c.advance(time.Second)
	return c
}

// peers is everyone's name → address.
func (c *cluster) peers() map[string]netip.AddrPort {
	m := map[string]netip.AddrPort{}
	for _, nd := range c.nodes {
		m[nd.name] = nd.addr
	}
	return m
}

// start runs a (new) detector for nd.
func (c *cluster) start(nd *node) {
	c.t.Helper()
	c.startWithClock(nd, c.clk)
}

// startWithClock runs a (new) detector for nd that reads clk.
func (c *cluster) startWithClock(nd *node, clk clock.WithTicker) {
	c.t.Helper()
	cfg := c.cfg
	cfg.Name, cfg.ListenAddr = nd.name, nd.addr
	cfg.Clock, cfg.Listen = clk, c.net.Listen
	d, err := heartbeat.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	d.SetPeers(c.peers())
	ctx, cancel := context.WithCancel(context.Background())
	nd.d, nd.cancel, nd.done = d, cancel, make(chan error, 1)
	go func() { nd.done <- d.Run(ctx) }()
	synctest.Wait()
}

// stop ends nd's detector (its port closes: probes are refused).
func (c *cluster) stop(nd *node) {
	c.t.Helper()
	nd.cancel()
	if err := <-nd.done; err != nil {
		c.t.Errorf("Run of %s: %v", nd.name, err)
	}
	nd.done = nil
}

// kill ends nd's detector as SIGKILL would: its leave is lost.
func (c *cluster) kill(nd *node) {
	c.t.Helper()
	c.net.SetLink(nd.addr.Addr(), false)
	c.stop(nd)
	c.net.SetLink(nd.addr.Addr(), true)
}

func (c *cluster) stopAll() {
	for _, nd := range c.nodes {
		if nd.done != nil {
			c.stop(nd)
		}
	}
}

// advance moves the fake clock by d, one millisecond at a time, letting
// every goroutine finish its work after each step.
func (c *cluster) advance(d time.Duration) {
	for end := c.clk.Now().Add(d); c.clk.Now().Before(end); {
		c.clk.Step(time.Millisecond)
		synctest.Wait()
	}
}

// advanceUntil advances until cond holds or limit passes; it returns how
// long it advanced, and fails the test at the limit.
func (c *cluster) advanceUntil(limit time.Duration, what string, cond func() bool) time.Duration {
	c.t.Helper()
	start := c.clk.Now()
	for !cond() {
		if c.clk.Since(start) >= limit {
			c.t.Fatalf("%s: not within %v", what, limit)
		}
		c.clk.Step(time.Millisecond)
		synctest.Wait()
	}
	return c.clk.Since(start)
}

// others returns the nodes but nd.
func (c *cluster) others(nd *node) []*node {
	return slices.DeleteFunc(slices.Clone(c.nodes), func(o *node) bool { return o == nd })
}

// allSee reports whether every node of among reports exactly dead.
func allSee(among []*node, dead ...string) bool {
	for _, nd := range among {
		if !slices.Equal(nd.d.Dead(), dead) {
			return false
		}
	}
	return true
}

// sum adds one counter over nodes.
func sum(nodes []*node, f func(heartbeat.Stats) uint64) uint64 {
	var n uint64
	for _, nd := range nodes {
		n += f(nd.d.Stats())
	}
	return n
}

func verdicts(s heartbeat.Stats) uint64 { return s.Verdicts }

// expectNoVerdict fails if any node declared anyone dead or saw a verdict.
func (c *cluster) expectNoVerdict() {
	c.t.Helper()
	for _, nd := range c.nodes {
		s := nd.d.Stats()
		if s.Verdicts+s.VerdictsReceived+s.DeclaredDeadSelf != 0 || len(nd.d.Dead()) != 0 {
			c.t.Errorf("%s: dead %v, stats %+v; want no verdict", nd.name, nd.d.Dead(), s)
		}
	}
}

// bubble runs f in a synctest bubble.
func bubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, f)
}

// behindClock is the cluster's clock read on a node whose wall clock is
// behind by the given duration; its timers run with the cluster's.
type behindClock struct {
	*clocktesting.FakeClock
	behind time.Duration
}

func (b behindClock) Now() time.Time                  { return b.FakeClock.Now().Add(-b.behind) }
func (b behindClock) Since(t time.Time) time.Duration { return b.Now().Sub(t) }
