package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// loopState is what the Run loop owns: the configuration applied to gobgp
// and the last state read from it.
type loopState struct {
	srv    *Server
	bs     *server.BgpServer
	peers  map[string]PeerConfig   // applied sessions by name
	paths  map[netip.Prefix]Path   // announced paths
	sent   map[string]int          // per session, paths it carries
	status map[string]peerStatus   // gobgp's view, by session name
	bfd    map[string]BFDState     // by session name
	last   map[string]SessionState // last published, for change detection
	logged map[string]State        // last logged BGP state
	addrs  map[netip.Addr]string   // session name by address
	// waiting holds the unnumbered sessions whose router is not found
	// yet; linkAddr the router's address of those in peers (see links.go).
	waiting  map[string]waitingPeer
	linkAddr map[string]netip.Addr
	// solicited is when each interface was last solicited; solicitErr the
	// last failure ("" after a success).
	solicited  map[string]time.Time
	solicitErr map[string]string
	// resetDue lists sessions waiting for a soft reset out.
	resetDue map[string]bool
	// bfdArmed holds, for sessions whose BFD is on in gobgp, when the BGP
	// session it was switched on for came up (see armBFD).
	bfdArmed map[string]time.Time
}

func newLoopState(s *Server, bs *server.BgpServer) *loopState {
	return &loopState{
		srv: s, bs: bs,
		peers: map[string]PeerConfig{}, paths: map[netip.Prefix]Path{}, sent: map[string]int{},
		status: map[string]peerStatus{}, bfd: map[string]BFDState{}, last: map[string]SessionState{},
		logged: map[string]State{}, addrs: map[netip.Addr]string{}, resetDue: map[string]bool{},
		bfdArmed: map[string]time.Time{}, waiting: map[string]waitingPeer{}, linkAddr: map[string]netip.Addr{},
		solicited: map[string]time.Time{}, solicitErr: map[string]string{},
	}
}

// setPeers applies desired: removed and changed sessions are deleted first,
// then added and changed ones are created with their export policies.
func (st *loopState) setPeers(ctx context.Context, desired map[string]PeerConfig) error {
	remove, add := peerDiff(st.configured(), desired)
	if len(remove) == 0 && len(add) == 0 {
		return nil
	}
	err := errors.Join(st.removePeers(ctx, remove), st.addPeers(ctx, desired, add))
	st.pull(ctx)
	return err
}

// removePeers deletes the named sessions, then their export policies.
// Waiting sessions have neither: they are just forgotten.
func (st *loopState) removePeers(ctx context.Context, names []string) error {
	names = st.forgetWaiting(names)
	if len(names) == 0 {
		return nil
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, st.deletePeer(ctx, name))
	}
	errs = append(errs, setExportPolicies(ctx, st.bs, sortedNames(st.peers)))
	for _, name := range names {
		errs = append(errs, deletePeerPolicy(ctx, st.bs, name))
	}
	return errors.Join(errs...)
}

// addPeers defines and lists the export policies of the named sessions,
// then creates them. Whatever fails is undone, so a later call retries
// from scratch.
//
// Unnumbered sessions whose router is not found, or that gobgp refuses,
// wait (checkLinks retries them) instead of failing.
func (st *loopState) addPeers(ctx context.Context, desired map[string]PeerConfig, names []string) error {
	var errs []error
	var ready []string
	for _, name := range st.resolveLinks(desired, names) {
		if err := addPeerPolicy(ctx, st.bs, desired[name], st.addrOf(desired[name]), denyList(st.paths, name)); err != nil {
			err = fmt.Errorf("peer %q: %w", name, err)
			if p := desired[name]; p.Interface != "" {
				st.wait(p, err)
			} else {
				errs = append(errs, err)
			}
			_ = deletePeerPolicy(ctx, st.bs, name) // best effort: parts may not exist
			continue
		}
		ready = append(ready, name)
	}
	listed := append(sortedNames(st.peers), ready...)
	slices.Sort(listed)
	if err := setExportPolicies(ctx, st.bs, listed); err != nil {
		return errors.Join(append(errs, err, st.dropPolicies(ctx, ready))...)
	}
	var failed []string
	for _, name := range ready {
		if err := st.addPeer(ctx, desired[name]); err != nil {
			failed = append(failed, name)
			if p := desired[name]; p.Interface != "" {
				st.wait(p, err)
				continue
			}
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		errs = append(errs, setExportPolicies(ctx, st.bs, sortedNames(st.peers)), st.dropPolicies(ctx, failed))
	}
	return errors.Join(errs...)
}

// dropPolicies deletes the (unlisted) export policies of the named sessions.
func (st *loopState) dropPolicies(ctx context.Context, names []string) error {
	var errs []error
	for _, name := range names {
		errs = append(errs, deletePeerPolicy(ctx, st.bs, name))
	}
	return errors.Join(errs...)
}

func (st *loopState) deletePeer(ctx context.Context, name string) error {
	p := st.peers[name]
	addr := st.addrOf(p)
	delete(st.linkAddr, name)
	delete(st.peers, name)
	delete(st.sent, name)
	delete(st.status, name)
	delete(st.bfd, name)
	delete(st.bfdArmed, name)
	delete(st.addrs, addr)
	st.srv.log.Info("bgp session removed", "peer", name, "address", addr)
	if err := st.bs.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("delete peer %q (%s): %w", name, addr, err)
	}
	return nil
}

// addPeer creates the gobgp neighbor, without BFD (armBFD switches it on
// once the session is up). With graceful restart it announces itself as
// restarting, so a router still holding our routes from a previous run
// keeps them until our End-of-RIB.
func (st *loopState) addPeer(ctx context.Context, p PeerConfig) error {
	addr := st.addrOf(p)
	ap := apiPeer(p, addr, p.GracefulRestart)
	ap.Bfd = nil
	if err := st.bs.AddPeer(ctx, &api.AddPeerRequest{Peer: ap}); err != nil {
		return fmt.Errorf("add peer %q (%s): %w", p.Name, addr, err)
	}
	st.peers[p.Name] = p
	st.addrs[addr] = p.Name
	n := 0
	for _, path := range st.paths {
		if path.AnnouncedTo(p) {
			n++
		}
	}
	st.sent[p.Name] = n
	st.srv.log.Info("bgp session configured", "peer", p.Name, "address", addr, "interface", p.Interface, "bfd", p.BFD != nil, "gracefulRestart", p.GracefulRestart)
	return nil
}

// setPath announces p (normalized). Deny sets change before the path is
// (re)added so it never reaches a session it is not meant for. When an
// existing path changes targets, the sessions whose verdict changed are
// queued for a soft reset out (see flushResets): gobgp judges the old path
// with the new policy (so it would not withdraw it) and does not re-send a
// path whose attributes are equal.
func (st *loopState) setPath(ctx context.Context, p Path) error {
	old, had := st.paths[p.Prefix]
	if had && equal(old, p) {
		return nil
	}
	var oldp *Path
	if had {
		oldp = &old
	}
	deny, allow := denyChange(oldp, p, sortedNames(st.peers))
	if err := st.editDenySets(ctx, p.Prefix, deny, allow); err != nil {
		return err
	}
	gp, err := gobgpPath(p)
	if err != nil {
		return fmt.Errorf("build path %s: %w", p.Prefix, err)
	}
	if _, err := st.bs.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{gp}}); err != nil {
		return fmt.Errorf("add path %s: %w", p.Prefix, err)
	}
	st.paths[p.Prefix] = p
	st.recount(oldp, &p)
	if !had {
		return nil
	}
	for _, name := range deny {
		if old.AnnouncedTo(st.peers[name]) {
			st.resetDue[name] = true
		}
	}
	for _, name := range allow {
		if p.AnnouncedTo(st.peers[name]) {
			st.resetDue[name] = true
		}
	}
	return nil
}

// setPaths makes the announced paths exactly desired (normalized, by
// prefix): withdrawals first, then announcements in prefix order.
func (st *loopState) setPaths(ctx context.Context, desired map[netip.Prefix]Path) (PathChanges, error) {
	var changes PathChanges
	var errs []error
	for _, prefix := range slices.SortedFunc(maps.Keys(st.paths), comparePrefix) {
		if _, keep := desired[prefix]; keep {
			continue
		}
		if err := st.deletePath(ctx, prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		changes.Withdrawn++
	}
	for _, prefix := range slices.SortedFunc(maps.Keys(desired), comparePrefix) {
		p := desired[prefix]
		if old, had := st.paths[prefix]; had && equal(old, p) {
			continue
		}
		if err := st.setPath(ctx, p); err != nil {
			errs = append(errs, err)
			continue
		}
		changes.Announced++
	}
	return changes, errors.Join(errs...)
}

// editDenySets adds prefix to the deny sets of the sessions in deny and
// removes it from those in allow.
func (st *loopState) editDenySets(ctx context.Context, prefix netip.Prefix, deny, allow []string) error {
	for _, name := range allow {
		if err := setDenied(ctx, st.bs, name, prefix, false); err != nil {
			return err
		}
	}
	for _, name := range deny {
		if err := setDenied(ctx, st.bs, name, prefix, true); err != nil {
			return err
		}
	}
	return nil
}

// flushResets soft-resets outbound the sessions queued by setPath. The loop
// calls it resetDelay after the first queued one, so a burst of target
// changes costs one table re-send per session, not one per prefix.
func (st *loopState) flushResets(ctx context.Context) {
	for _, name := range sortedNames(st.resetDue) {
		delete(st.resetDue, name)
		p, ok := st.peers[name]
		if !ok {
			continue
		}
		err := st.bs.ResetPeer(ctx, &api.ResetPeerRequest{
			Address: st.addrOf(p).String(), Soft: true, Direction: api.ResetPeerRequest_DIRECTION_OUT,
		})
		if err != nil {
			st.srv.log.Warn("cannot soft-reset bgp session outbound", "peer", name, "error", err)
		}
	}
}

// deletePath withdraws prefix, then drops it from the deny sets.
func (st *loopState) deletePath(ctx context.Context, prefix netip.Prefix) error {
	old, had := st.paths[prefix]
	if !had {
		return nil
	}
	gp, err := gobgpPath(old)
	if err != nil {
		return fmt.Errorf("build path %s: %w", prefix, err)
	}
	if err := st.bs.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{gp}}); err != nil {
		return fmt.Errorf("delete path %s: %w", prefix, err)
	}
	delete(st.paths, prefix)
	st.recount(&old, nil)
	var errs []error
	for _, name := range sortedNames(st.peers) {
		if !targets(old, name) {
			errs = append(errs, setDenied(ctx, st.bs, name, prefix, false))
		}
	}
	return errors.Join(errs...)
}

// recount updates per-session counts for a path going from old to new (nil
// for none).
func (st *loopState) recount(old, new *Path) {
	for name, peer := range st.peers {
		if old != nil && old.AnnouncedTo(peer) {
			st.sent[name]--
		}
		if new != nil && new.AnnouncedTo(peer) {
			st.sent[name]++
		}
	}
}

// pull looks after unnumbered sessions (checkLinks), reads session and BFD
// states from gobgp, enforces DynamicASNExternal, switches BFD on or off
// (armBFD) and publishes.
func (st *loopState) pull(ctx context.Context) {
	st.checkLinks(ctx, time.Now())
	status := make(map[string]peerStatus, len(st.peers))
	err := st.bs.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		addr, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if name, ok := st.addrs[addr]; err == nil && ok {
			status[name] = fromAPIPeer(p)
		}
	})
	if err != nil {
		st.srv.log.Warn("cannot list gobgp peers", "error", err)
		return
	}
	st.status = status
	bfd := make(map[string]BFDState, len(st.peers))
	st.bs.ListBfdPeer(ctx, func(address string, s *api.BfdPeerState) {
		addr, err := netip.ParseAddr(address)
		if name, ok := st.addrs[addr]; err == nil && ok {
			bfd[name] = fromAPIBFDState(s.GetSessionState())
		}
	})
	st.bfd = bfd
	st.enforceExternal(ctx)
	st.armBFD(ctx, time.Now())
	st.publish()
}

// settled reports whether every session is Established with its BFD (if
// any) Up and armed, so states can be polled less often.
func (st *loopState) settled() bool {
	if len(st.peers) == 0 || len(st.waiting) > 0 {
		return false
	}
	for name, p := range st.peers {
		if st.status[name].state != StateEstablished {
			return false
		}
		if p.BFD != nil && (st.bfd[name] != BFDUp || st.bfdArmed[name].IsZero()) {
			return false
		}
	}
	return true
}

// enforceExternal resets sessions learned with DynamicASNExternal that came
// up with our own ASN: gobgp cannot refuse them in the OPEN. Such a session
// is reported Idle with the reason, never Established, even in the moment
// between a reconnect and its reset.
func (st *loopState) enforceExternal(ctx context.Context) {
	for name, p := range st.peers {
		s := st.status[name]
		if p.DynamicASN != DynamicASNExternal || s.state != StateEstablished || s.peerASN != p.MyASN {
			continue
		}
		st.srv.log.Warn("bgp peer uses our ASN but must be external, resetting", "peer", name, "asn", s.peerASN)
		err := st.bs.ResetPeer(ctx, &api.ResetPeerRequest{Address: st.addrOf(p).String(), Communication: "peer AS must differ from local AS"})
		if err != nil {
			st.srv.log.Warn("cannot reset bgp peer", "peer", name, "error", err)
		}
		s.state = StateIdle
		s.lastError = fmt.Sprintf("peer uses our ASN %d; dynamicASN external needs a different one", s.peerASN)
		st.status[name] = s
	}
}

// publish stores a new snapshot and signals Changed when a BGP or BFD state
// changed.
func (st *loopState) publish() {
	view := buildView(st.configured(), st.viewStatus(), st.linkAddr, st.bfd, st.sent)
	changed := len(view) != len(st.last)
	next := make(map[string]SessionState, len(view))
	for _, s := range view {
		prev, ok := st.last[s.Name]
		if !ok || prev.State != s.State || prev.BFD != s.BFD || prev.Address != s.Address {
			changed = true
		}
		if st.logged[s.Name] != s.State {
			st.srv.log.Info("bgp session state", "peer", s.Name, "address", s.Address, "state", s.State, "bfd", s.BFD, slog.String("lastError", s.LastError))
			st.logged[s.Name] = s.State
		}
		next[s.Name] = s
	}
	for name := range st.logged {
		if _, ok := next[name]; !ok {
			delete(st.logged, name)
		}
	}
	st.last = next
	st.srv.view.Store(&view)
	if changed {
		st.srv.signal()
	}
}

// buildView assembles the sorted session list; linkAddr holds the routers'
// addresses of unnumbered sessions.
func buildView(peers map[string]PeerConfig, status map[string]peerStatus, linkAddr map[string]netip.Addr, bfd map[string]BFDState, sent map[string]int) []SessionState {
	out := make([]SessionState, 0, len(peers))
	for _, name := range sortedNames(peers) {
		p, s := peers[name], status[name]
		v := SessionState{Name: name, Address: p.Address, Interface: p.Interface, State: s.state, PeerASN: s.peerASN, LastError: s.lastError}
		if p.Interface != "" {
			v.Address = linkAddr[name]
		}
		if p.PeerASN != 0 && v.PeerASN == 0 {
			v.PeerASN = p.PeerASN
		}
		if p.BFD != nil {
			v.BFD = BFDDown
			if b, ok := bfd[name]; ok {
				v.BFD = b
			}
		}
		if s.state == StateEstablished {
			v.PrefixesSent = sent[name]
			v.EstablishedAt = s.establishedAt
		}
		out = append(out, v)
	}
	return out
}
