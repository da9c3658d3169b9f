package speaker

import (
	"context"
	"maps"
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/internal/heartbeat"
	"github.com/pylonlb/pylon/internal/membership"
)

// Detector is the fast failure detector seam (heartbeat.Detector
// satisfies it): it watches the other speakers directly and reports,
// within a fraction of memberlist's detection time, the nodes it has
// confirmed unreachable. Elections leave them out at once; memberlist
// removes them later on its own.
type Detector interface {
	Run(ctx context.Context) error
	SetPeers(peers map[string]netip.AddrPort)
	Dead() []string
	Changed() <-chan struct{}
	Stats() heartbeat.Stats
}

// detectorChanged fires when the detector's verdicts change (nil without
// a detector).
func (a *Agent) detectorChanged() <-chan struct{} {
	if a.cfg.Detector == nil {
		return nil
	}
	return a.cfg.Detector.Changed()
}

// updateDetectorPeers hands the detector the other live members, at their
// gossip address and the detector's port, when they changed.
func (a *Agent) updateDetectorPeers() {
	if a.cfg.Detector == nil {
		return
	}
	peers := map[string]netip.AddrPort{}
	for _, m := range a.cfg.Members.Members() {
		if m.Name != a.cfg.NodeName && m.Addr.IsValid() {
			peers[m.Name] = netip.AddrPortFrom(m.Addr.Addr(), a.cfg.DetectorPort)
		}
	}
	if a.detectorPeers != nil && maps.Equal(peers, a.detectorPeers) {
		return
	}
	a.detectorPeers = peers
	a.cfg.Detector.SetPeers(peers)
}

// withoutDead drops from live the members the detector counts dead (never
// this node itself).
func withoutDead(live []membership.Member, dead []string, self string) []membership.Member {
	if len(dead) == 0 {
		return live
	}
	return slices.DeleteFunc(slices.Clone(live), func(m membership.Member) bool {
		return m.Name != self && slices.Contains(dead, m.Name)
	})
}
