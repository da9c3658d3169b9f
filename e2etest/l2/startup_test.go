//go:build e2e

package l2

import (
	"context"
	"testing"
)

// testNodeWithoutSpeaker: one Node runs no speaker (as a tainted
// control-plane node might), so a starting speaker can never meet every
// Node's speaker. A speaker restarting into the running cluster still
// takes its addresses back at once: it joined peers that already answer
// (its start-up grace is ten minutes here, far beyond the wait). And a
// cold start of the remaining speakers answers once the grace is over.
func testNodeWithoutSpeaker(t *testing.T, s *suite) {
	ctx := context.Background()
	nodes := s.l.NodeNames()
	absent := nodes[len(nodes)-1]
	if err := s.l.StopSpeaker(ctx, absent, speakerStopGrace); err != nil {
		t.Fatal(err)
	}
	svc := s.create(t, svcSpec{name: "nospeaker", families: dualStack})
	running := s.live()
	owner := predict(t, svc.ips, running)
	s.waitOwner(t, svc, owner)

	t.Log("restart into a running cluster")
	if err := s.l.KillSpeaker(ctx, owner); err != nil {
		t.Fatal(err)
	}
	s.waitOwner(t, svc, predict(t, svc.ips, s.live()))
	if _, err := s.l.StartSpeaker(ctx, owner, "--startup-grace=10m"); err != nil {
		t.Fatal(err)
	}
	s.waitMembers(t, running)
	s.waitOwner(t, svc, owner)

	t.Log("cold start without the absent node's speaker")
	for _, n := range running {
		if err := s.l.StopSpeaker(ctx, n, speakerStopGrace); err != nil {
			t.Fatal(err)
		}
	}
	s.waitUnresolved(t, svc.ips[0])
	for _, n := range running {
		if _, err := s.l.StartSpeaker(ctx, n, "--startup-grace=2s"); err != nil {
			t.Fatal(err)
		}
	}
	s.waitOwner(t, svc, owner)
}
