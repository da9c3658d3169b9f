package speaker

import (
	"slices"
	"time"

	"github.com/pylonlb/pylon/internal/membership"
)

// gate decides when a starting speaker may act on elections: answer
// ARP/NDP for the addresses it wins, and report for every speaker as the
// first member. Before it has met its peers, every starting speaker would
// believe it is alone (and first).
type gate struct {
	start     time.Time
	graceOver bool // StartupGrace passed
	opened    bool
}

// open reports whether the speaker may act yet, live being the members
// elections use: it knows no other node to meet, met the speaker of every
// other Node (and one at least when it was given extra peers), joined a
// running cluster (a peer that already answers: joining merged its whole
// view), or waited StartupGrace. A speaker that opened on meeting just
// one other would elect among part of the cluster: when speakers start
// together, two of them can each see a different part, both answer for
// one address, and clients follow whichever answered last. The view must
// hold this speaker itself, and the peer that answers must be in the view
// the election then uses: a speaker that opened on a later view than it
// elects on would answer for addresses that the newcomer wins. Once open,
// it tells its peers (Answering).
func (g *gate) open(a *Agent, live []membership.Member) bool {
	if g.opened {
		return true
	}
	why := ""
	inView := slices.ContainsFunc(live, func(m membership.Member) bool { return m.Name == a.cfg.NodeName })
	switch {
	case len(a.view.peersSet) == 0:
		why = "no other node"
	case inView && metAll(live, a.view.peerNodes):
		why = "met every node's speaker"
	case inView && a.cfg.Members.Joined() && peerAnswering(live, a.cfg.NodeName):
		why = "joined running speakers"
	case g.graceOver:
		why = "startup grace over"
	default:
		return false
	}
	g.opened = true
	a.log.Info("L2 announcing enabled", "why", why, "members", len(live), "waited", a.cfg.Clock.Since(g.start).String())
	if err := a.cfg.Members.SetAnswering(true, 200*time.Millisecond); err != nil {
		a.log.Warn("tell peers this speaker answers", "error", err)
	}
	return true
}

// peerAnswering reports whether another member of live already answers.
func peerAnswering(live []membership.Member, self string) bool {
	for _, m := range live {
		if m.Answering && m.Name != self {
			return true
		}
	}
	return false
}

// metAll reports whether every other Node's speaker is a live member.
func metAll(live []membership.Member, peerNodes []string) bool {
	if len(live) < 2 {
		return false
	}
	names := make(map[string]bool, len(live))
	for _, m := range live {
		names[m.Name] = true
	}
	for _, n := range peerNodes {
		if !names[n] {
			return false
		}
	}
	return true
}
