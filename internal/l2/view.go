package l2

import (
	"net"
	"net/netip"
)

// view is what a responder needs to decide about one frame. The loop builds
// a new view on every change and publishes it atomically; readers never
// modify it.
type view struct {
	// ifi is the interface the responder serves.
	ifi Interface
	// mac is ifi.MAC as a key.
	mac macKey
	// announced are the IPs answered on this interface.
	announced ipSet
	// watched are further IPs for which foreign announcers are reported.
	watched ipSet
	// local are the MACs of all the host's interfaces.
	local map[macKey]struct{}
}

// isLocal reports whether mac belongs to this host.
func (v *view) isLocal(mac net.HardwareAddr) bool {
	k, ok := keyOf(mac)
	if !ok {
		return false
	}
	_, local := v.local[k]
	return local || k == v.mac
}

// answers reports whether ip is announced on this interface.
func (v *view) answers(ip netip.Addr) bool {
	_, ok := v.announced[ip]
	return ok
}

// tracks reports whether foreign claims on ip are reported.
func (v *view) tracks(ip netip.Addr) bool {
	if v.answers(ip) {
		return true
	}
	_, ok := v.watched[ip]
	return ok
}

// acceptsDst reports whether a frame sent to dst is meant for this
// interface: broadcast, multicast or our own MAC. Frames to other hosts
// reach a packet socket only in promiscuous mode and are not answered.
func (v *view) acceptsDst(dst net.HardwareAddr) bool {
	if len(dst) != 6 {
		return false
	}
	if dst[0]&1 != 0 { // group bit: broadcast or multicast
		return true
	}
	k, _ := keyOf(dst)
	return k == v.mac
}
