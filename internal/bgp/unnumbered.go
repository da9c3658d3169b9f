package bgp

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Unnumbered sessions (PeerConfig.Interface) reach gobgp as link-local
// neighbors once their router is found on the link (Links.Neighbor). Until
// then they wait: they are reported Idle with the reason, and every state
// poll looks again. While such a session is not Established the interface
// is solicited (Links.Solicit) at most every solicitInterval, so a router
// that learns its unnumbered neighbours from router advertisements finds
// us, and answers with its own. A session whose router answers from
// another address (a replaced router) is re-created for it.

// solicitInterval bounds how often one interface is solicited.
const solicitInterval = 3 * time.Second

// waitingPeer is an unnumbered session whose router is not found yet.
type waitingPeer struct {
	cfg PeerConfig
	err string // why it waits, reported as the session's last error
}

// addrOf is the router's address of a session in peers: PeerConfig.Address,
// or the link-local address found for an unnumbered session.
func (st *loopState) addrOf(p PeerConfig) netip.Addr {
	if p.Interface != "" {
		return st.linkAddr[p.Name]
	}
	return p.Address
}

// configured returns every configured session: in gobgp, or waiting.
func (st *loopState) configured() map[string]PeerConfig {
	out := maps.Clone(st.peers)
	for name, w := range st.waiting {
		out[name] = w.cfg
	}
	return out
}

// viewStatus is st.status plus the waiting sessions, Idle with their reason.
func (st *loopState) viewStatus() map[string]peerStatus {
	if len(st.waiting) == 0 {
		return st.status
	}
	out := maps.Clone(st.status)
	for name, w := range st.waiting {
		out[name] = peerStatus{state: StateIdle, peerASN: w.cfg.PeerASN, lastError: w.err}
	}
	return out
}

// forgetWaiting drops the waiting sessions among names and returns the
// others.
func (st *loopState) forgetWaiting(names []string) []string {
	var rest []string
	for _, name := range names {
		if _, ok := st.waiting[name]; ok {
			delete(st.waiting, name)
			st.srv.log.Info("bgp session removed", "peer", name)
			continue
		}
		rest = append(rest, name)
	}
	return rest
}

// wait parks an unnumbered session until its router is found.
func (st *loopState) wait(p PeerConfig, err error) {
	delete(st.linkAddr, p.Name)
	if _, already := st.waiting[p.Name]; !already {
		st.srv.log.Info("bgp session waits for its router", "peer", p.Name, "interface", p.Interface, "error", err)
	}
	st.waiting[p.Name] = waitingPeer{cfg: p, err: err.Error()}
}

// resolveLinks finds the routers of the unnumbered sessions among names
// (recording their addresses in linkAddr); those not found wait. It returns
// the names that can be added now.
func (st *loopState) resolveLinks(desired map[string]PeerConfig, names []string) []string {
	var out []string
	for _, name := range names {
		p := desired[name]
		if p.Interface == "" {
			out = append(out, name)
			continue
		}
		addr, err := st.srv.cfg.Links.Neighbor(p.Interface)
		if err == nil {
			err = st.checkLinkAddr(name, addr)
		}
		if err != nil {
			st.wait(p, err)
			continue
		}
		delete(st.waiting, name)
		st.linkAddr[name] = addr
		out = append(out, name)
	}
	return out
}

// checkLinkAddr refuses a router address another session already uses
// (gobgp keys neighbors by address).
func (st *loopState) checkLinkAddr(name string, addr netip.Addr) error {
	if other, ok := st.addrs[addr]; ok && other != name {
		return fmt.Errorf("router %s is already the neighbor of session %q", addr, other)
	}
	return nil
}

// checkLinks, called before each state poll, solicits the interfaces of
// unnumbered sessions that are not Established, adds the waiting sessions
// whose router is now found, and re-creates sessions whose router now
// answers from another address.
func (st *loopState) checkLinks(ctx context.Context, now time.Time) {
	for _, name := range sortedNames(st.waiting) {
		st.solicit(st.waiting[name].cfg.Interface, now)
	}
	var moved []string
	for _, name := range sortedNames(st.peers) {
		p := st.peers[name]
		if p.Interface == "" || st.status[name].state == StateEstablished {
			continue
		}
		st.solicit(p.Interface, now)
		addr, err := st.srv.cfg.Links.Neighbor(p.Interface)
		if err != nil || addr == st.linkAddr[name] {
			continue // gobgp keeps trying the address it has
		}
		st.srv.log.Info("bgp router of unnumbered session changed address", "peer", name, "interface", p.Interface, "old", st.linkAddr[name], "new", addr)
		moved = append(moved, name)
	}
	retry := st.configured()
	if err := st.removePeers(ctx, moved); err != nil {
		st.srv.log.Warn("cannot remove bgp session to re-create it", "error", err)
	}
	names := append(slices.Sorted(maps.Keys(st.waiting)), moved...)
	if len(names) == 0 {
		return
	}
	// addPeers parks again those whose router is still missing.
	slices.Sort(names)
	if err := st.addPeers(ctx, retry, names); err != nil {
		st.srv.log.Warn("cannot add bgp sessions", "error", err)
	}
}

// solicit solicits ifname unless it was done less than solicitInterval ago.
// A failure is logged when it differs from the last one on ifname: a node
// without the interface fails the same way every time.
func (st *loopState) solicit(ifname string, now time.Time) {
	if last, ok := st.solicited[ifname]; ok && now.Sub(last) < solicitInterval {
		return
	}
	st.solicited[ifname] = now
	err := st.srv.cfg.Links.Solicit(ifname)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != st.solicitErr[ifname] && err != nil {
		st.srv.log.Warn("cannot solicit the router of an unnumbered session", "interface", ifname, "error", err)
	}
	st.solicitErr[ifname] = msg
}
