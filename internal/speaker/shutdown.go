package speaker

import (
	"context"
	"slices"
	"time"

	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// shutdown performs a BGP graceful shutdown (RFC 8326) as the speaker
// stops: every announced path is sent again marked GracefulShutdown
// (community 65535:0, LOCAL_PREF 0 towards iBGP peers), so routers that
// honour it prefer the other nodes' paths while this node still forwards;
// then it waits for wait before the sessions close. It does nothing when
// disabled, without a router, without paths or without an established
// session, and for a rolling update when every session does graceful
// restart: routers then keep this node's routes until its successor
// announces them, and the node forwards all along, so moving traffic away
// and back would only cut connections twice. It runs after the loop has
// ended, beside the L2 hand-over.
func (b *bgpReconciler) shutdown(wait time.Duration, rolling bool) {
	if wait <= 0 || b.router == nil || len(b.desired) == 0 || !established(b.router.Sessions()) {
		return
	}
	if rolling && allGracefulRestart(plan.SessionPeers(b.view.config, b.view.self)) {
		b.log.Info("graceful shutdown skipped: rolling update and every session does graceful restart, routers keep the routes")
		return
	}
	paths := make([]bgp.Path, 0, len(b.desired))
	for _, p := range b.desired {
		p.GracefulShutdown = true
		paths = append(paths, p)
	}
	ctx, cancel := context.WithTimeout(b.router.ctx, wait)
	defer cancel()
	if _, err := b.router.SetPaths(ctx, paths); err != nil {
		b.log.Warn("graceful shutdown: re-announce with the GRACEFUL_SHUTDOWN community; closing the sessions at once", "error", err)
		return
	}
	b.log.Info("graceful shutdown: paths re-announced with the GRACEFUL_SHUTDOWN community; sessions close after the wait",
		"prefixes", len(paths), "wait", wait.String())
	t := b.cfg.Clock.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C():
	case <-ctx.Done():
	}
}

// allGracefulRestart reports whether every session does graceful restart.
func allGracefulRestart(sessions []*model.Peer) bool {
	return len(sessions) > 0 && !slices.ContainsFunc(sessions, func(p *model.Peer) bool { return !p.GracefulRestart })
}

// established reports whether any session is established.
func established(sessions []bgp.SessionState) bool {
	return slices.ContainsFunc(sessions, func(s bgp.SessionState) bool { return s.State == bgp.StateEstablished })
}
