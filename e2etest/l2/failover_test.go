//go:build e2e

package l2

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/e2etest/lab/probe"
)

// dualStack is the family list of the fail-over Services: each fail-over
// is proven for ARP and NDP at once.
var dualStack = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}

// testKill: SIGKILL of the announcing speaker (its node still serves):
// the next node by hash takes over, the client's entry changes and HTTP
// reaches the new owner.
func testKill(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "kill", families: dualStack})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	if err := s.l.KillSpeaker(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	next := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, next)
	s.waitAnnouncedEvent(t, svc, svc.ips[0], next)
}

// testLinkDown: the announcer's cable is pulled: the next node takes over.
func testLinkDown(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "link", families: dualStack})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	if err := s.l.CutLink(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	next := predict(t, svc.ips, s.live(owner))
	s.waitOwner(t, svc, next)
	s.waitAnnouncedEvent(t, svc, svc.ips[0], next)
}

// testSIGTERM: a graceful stop of the announcer hands the addresses over
// without a failed request from a client probing every 10 ms (but for the
// connections open at the instant the client switches nodes: see
// SwitchReset), and the client has switched to the successor
// before the leaving speaker exits: no probe started after the exit
// reaches the old node (which could then go away at once).
func testSIGTERM(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "graceful", families: dualStack})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	probers := map[string]*probe.Prober{}
	for _, ip := range svc.ips {
		p, err := s.l.NewProber("client", ip)
		if err != nil {
			t.Fatal(err)
		}
		probers[ip.String()] = p
		wg.Go(func() { _ = p.Run(ctx) })
	}
	defer func() { stop(); wg.Wait() }()
	if err := s.l.StopSpeaker(context.Background(), owner, speakerStopGrace); err != nil {
		t.Fatal(err)
	}
	exited := time.Now()
	next := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, next)
	stop()
	wg.Wait()
	for ip, p := range probers {
		sum := probe.Summarize(p.Samples())
		t.Logf("%s: %d probes, %d failed, answers %v, hand-overs %+v", ip, sum.Total, sum.Failed, sum.ByNode, sum.Handoffs)
		switched := time.Now()
		for _, smp := range p.Samples() {
			if smp.OK() && smp.Node == next && smp.Start.Before(switched) {
				switched = smp.Start
			}
		}
		for _, smp := range p.Samples() {
			switch {
			case SwitchReset(smp) && smp.Start.Before(switched):
				t.Logf("%s: probe %d reset: its connection was open when the client switched to %s (inherent to moving an address)", ip, smp.Seq, next)
			case !smp.OK():
				t.Errorf("%s: probe %d failed during the graceful hand-over: %s", ip, smp.Seq, smp.Err)
			case smp.Node == owner && smp.Start.After(exited):
				t.Errorf("%s: probe %d started %v after %s's speaker exited and still reached it", ip, smp.Seq, smp.Start.Sub(exited), owner)
			}
		}
		if sum.ByNode[next] == 0 {
			t.Errorf("%s: no probe answered by the new owner %s", ip, next)
		}
	}
}

// testPartition: the owner is cut off from the other speakers (its link
// stays up, so the client still reaches every node): the others elect a
// new owner, which the client follows; once the partition heals, the
// address goes back to its owner, and the client follows again.
func testPartition(t *testing.T, s *suite) {
	ctx := context.Background()
	svc := s.create(t, svcSpec{name: "partition", families: dualStack})
	nodes := s.live()
	owner := predict(t, svc.ips, nodes)
	s.waitOwner(t, svc, owner)
	rest := others(nodes, owner)
	if err := s.l.Partition(ctx, []string{owner}, rest); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.l.Heal(context.Background()) })
	s.waitOwner(t, svc, predict(t, svc.ips, rest))
	if err := s.l.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	s.waitMembers(t, nodes)
	s.waitOwner(t, svc, owner)
}
