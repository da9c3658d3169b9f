package membership

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// missingPeers returns the peers, sorted and without duplicates, that no
// member advertises: those Run should (re)join. Addresses are compared
// with IPv4-mapped IPv6 addresses unmapped.
func missingPeers(peers []netip.AddrPort, members []Member) []netip.AddrPort {
	known := make(map[netip.AddrPort]bool, len(members))
	for _, m := range members {
		known[unmap(m.Addr)] = true
	}
	var out []netip.AddrPort
	for _, p := range peers {
		if p = unmap(p); p.IsValid() && !known[p] {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return slices.Compact(out)
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// rejoinLoop joins the missing peers at once, again whenever SetPeers
// changes them, and every RejoinInterval. It returns when ctx ends.
func (m *Membership) rejoinLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.peersChanged:
		case <-timer.C:
		}
		m.joinMissing(ctx)
		timer.Reset(m.cfg.RejoinInterval)
	}
}

// joinParallel bounds the concurrent joins of one round: a peer whose
// link is down costs TCPTimeout, and a round should not take that many
// times over.
const joinParallel = 8

// joinMissing joins the missing peers, up to joinParallel at a time,
// rechecking each just before: joining one peer usually teaches us about
// the others. It returns when all joins of the round ended; each blocks at
// most TCPTimeout.
func (m *Membership) joinMissing(ctx context.Context) {
	if m.left.Load() {
		return
	}
	sem := make(chan struct{}, joinParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, p := range missingPeers(m.peerList(), m.Members()) {
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			m.joinPeer(p)
		})
	}
}

// joinPeer joins p unless it became a member meanwhile.
func (m *Membership) joinPeer(p netip.AddrPort) {
	if len(missingPeers([]netip.AddrPort{p}, m.Members())) == 0 {
		return
	}
	if _, err := m.Join([]string{p.String()}); err != nil {
		m.log.Debug("join peer failed", "peer", p, "err", err)
		return
	}
	m.log.Debug("joined peer", "peer", p)
}
