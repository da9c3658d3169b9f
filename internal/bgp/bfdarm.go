package bgp

import (
	"context"
	"fmt"
	"time"

	"github.com/osrg/gobgp/v4/api"
)

// bfdArmDelay is how long a session with BFD must have been Established
// before BFD is switched on for it in gobgp (see armBFD).
const bfdArmDelay = time.Second

// bfdStep is what armBFD does for one session.
type bfdStep int

const (
	bfdKeep bfdStep = iota
	bfdArm
	bfdDisarm
)

// bfdNext decides, purely, whether a session's BFD must be switched on or
// off. armedFor is when the session BFD is armed for came up (zero: not
// armed). BFD runs only on a session that has been Established for
// bfdArmDelay, and a new session (a different establishment time) starts
// disarmed.
func bfdNext(s peerStatus, armedFor, now time.Time) bfdStep {
	armed := !armedFor.IsZero()
	switch {
	case s.state != StateEstablished || s.establishedAt.IsZero():
		if armed {
			return bfdDisarm
		}
	case armed && !armedFor.Equal(s.establishedAt):
		return bfdDisarm
	case !armed && now.Sub(s.establishedAt) >= bfdArmDelay:
		return bfdArm
	}
	return bfdKeep
}

// armBFD switches gobgp's BFD on for the sessions with a BFD
// configuration once they have been Established for bfdArmDelay, and off
// when they go down.
//
// Why: gobgp's BFD binds to the router's discriminator from the first
// packet it sees and ignores packets from any other session of the router,
// and when its session expires (even one that never came up) it resets
// the BGP session. Routers that create their BFD session when the BGP
// session comes up and replace it at once (FRR does this for dynamic
// neighbours) would then flap the BGP session every few seconds forever.
// Started after the router's BFD session settled, gobgp's sees only that
// one. The router's BFD cannot come up without ours, so it never takes a
// session down before we arm.
func (st *loopState) armBFD(ctx context.Context, now time.Time) {
	for _, name := range sortedNames(st.peers) {
		p := st.peers[name]
		if p.BFD == nil {
			continue
		}
		step := bfdNext(st.status[name], st.bfdArmed[name], now)
		if step == bfdKeep {
			continue
		}
		if err := st.setBFD(ctx, p, step == bfdArm); err != nil {
			st.srv.log.Warn("cannot switch BFD", "peer", name, "on", step == bfdArm, "error", err)
			continue
		}
		if step == bfdArm {
			st.bfdArmed[name] = st.status[name].establishedAt
		} else {
			delete(st.bfdArmed, name)
		}
	}
}

// setBFD updates the gobgp neighbor with BFD on or off; nothing else
// changes, so gobgp does not reset the BGP session.
func (st *loopState) setBFD(ctx context.Context, p PeerConfig, on bool) error {
	ap := apiPeer(p, st.addrOf(p), p.GracefulRestart)
	if !on {
		ap.Bfd = nil
	}
	if _, err := st.bs.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: ap}); err != nil {
		return fmt.Errorf("update peer %q (%s) with BFD %v: %w", p.Name, p.Address, on, err)
	}
	return nil
}
