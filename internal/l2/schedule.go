package l2

import (
	"net/netip"
	"slices"
	"time"
)

// burst is when gratuitous ARPs / unsolicited NAs go out after an IP is
// taken over on an interface, relative to the takeover. The first one
// redirects clients at once; the later ones cover frames lost while a switch
// port or a client's neighbour table was still settling.
var burst = [...]time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second}

// sendState tracks the announcements of one IP on one interface.
type sendState struct {
	// start is when the IP was taken over on the interface.
	start time.Time
	// sent counts the announcements made so far.
	sent int
}

// due returns when the next announcement is due. After the burst come
// refreshes every refresh interval; with refresh 0 nothing is due after the
// burst (ok is false).
func (s sendState) due(refresh time.Duration) (at time.Time, ok bool) {
	if s.sent < len(burst) {
		return s.start.Add(burst[s.sent]), true
	}
	if refresh <= 0 {
		return time.Time{}, false
	}
	n := time.Duration(s.sent - len(burst) + 1)
	return s.start.Add(burst[len(burst)-1] + n*refresh), true
}

// annKey names one IP on one interface.
type annKey struct {
	iface string
	ip    netip.Addr
}

// schedule holds the send state of every announced IP on every interface.
type schedule map[annKey]sendState

// apply starts the burst for added IPs and forgets removed ones.
func (s schedule) apply(diff map[string]change, now time.Time) {
	for name, c := range diff {
		for _, ip := range c.removed {
			delete(s, annKey{name, ip})
		}
		for _, ip := range c.added {
			s[annKey{name, ip}] = sendState{start: now}
		}
	}
}

// restart starts the burst again, at now, for every IP on every
// interface.
func (s schedule) restart(now time.Time) {
	for k := range s {
		s[k] = sendState{start: now}
	}
}

// takeDue returns, per interface, the IPs due for an announcement at now and
// counts them as sent. Several due sends of one IP (after a stall) collapse
// into one.
func (s schedule) takeDue(now time.Time, refresh time.Duration) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for k, st := range s {
		at, ok := st.due(refresh)
		if !ok || at.After(now) {
			continue
		}
		out[k.iface] = append(out[k.iface], k.ip)
		for ok && !at.After(now) {
			st.sent++
			at, ok = st.due(refresh)
		}
		s[k] = st
	}
	for _, ips := range out {
		slices.SortFunc(ips, netip.Addr.Compare)
	}
	return out
}

// next returns the earliest due time, or ok false when nothing is due.
func (s schedule) next(refresh time.Duration) (next time.Time, ok bool) {
	for _, st := range s {
		if at, due := st.due(refresh); due && (!ok || at.Before(next)) {
			next, ok = at, true
		}
	}
	return next, ok
}
