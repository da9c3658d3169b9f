package heartbeat_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pylonlb/pylon/internal/heartbeat"
)

// addNode adds a node to c and starts it with every node as peers; the
// others do not know it yet (see tell).
func (c *cluster) addNode() *node {
	i := len(c.nodes)
	nd := &node{
		name: fmt.Sprintf("node-%d", i),
		addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), heartbeat.DefaultPort),
	}
	c.nodes = append(c.nodes, nd)
	c.start(nd)
	return nd
}

// tell gives nodes the current peer list.
func (c *cluster) tell(nodes ...*node) {
	for _, nd := range nodes {
		nd.d.SetPeers(c.peers())
	}
}

func TestPeersChanging(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		// Two nodes join; the others learn it one by one, seconds apart
		// (the first newcomer too, of the second), so watch assignments
		// disagree meanwhile.
		a, b := c.addNode(), c.addNode()
		for _, old := range []*node{c.nodes[0], c.nodes[1], a, c.nodes[2], c.nodes[3]} {
			c.advance(2 * time.Second)
			c.tell(old)
		}
		c.advance(2 * time.Second)
		c.expectNoVerdict()

		// The newcomer is watched like anyone.
		c.net.SetLink(b.addr.Addr(), false)
		c.advanceUntil(time.Second, "newcomer declared dead", func() bool {
			return allSee(c.others(b), b.name)
		})
		// Removing it from the peers forgets the verdict.
		c.stop(b)
		c.nodes = c.others(b)
		for _, nd := range c.nodes {
			select {
			case <-nd.d.Changed():
			default:
			}
		}
		c.tell(c.nodes...)
		c.advance(10 * time.Millisecond)
		for _, nd := range c.nodes {
			select {
			case <-nd.d.Changed():
			default:
				t.Errorf("%s: Changed did not fire when the dead peer left", nd.name)
			}
		}
		if !allSee(c.nodes) {
			t.Error("a removed peer is still reported dead")
		}
	})
}

func TestLossyNetworkNoVerdict(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := newCluster(t, 4, testConfig())
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(1, 2))
		c.net.SetDrop(func(_, _ netip.AddrPort) bool {
			mu.Lock()
			defer mu.Unlock()
			return rng.IntN(100) < 10
		})
		c.advance(60 * time.Second)
		c.expectNoVerdict()
		t.Logf("10%% loss for 60 s: %d suspicions, %d refuted",
			sum(c.nodes, func(s heartbeat.Stats) uint64 { return s.Suspicions }),
			sum(c.nodes, func(s heartbeat.Stats) uint64 { return s.Refuted }))
	})
}
