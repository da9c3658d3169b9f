package membership

import (
	"net/netip"

	"github.com/hashicorp/memberlist"
)

// delegate receives memberlist's callbacks. memberlist calls the event
// methods one at a time, often while holding its own node lock, so each
// only copies the member into Membership's map under a leaf mutex and
// signals Changed without blocking.
type delegate struct {
	m *Membership
}

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
)

// NodeMeta returns our metadata for the alive messages memberlist sends.
func (d *delegate) NodeMeta(limit int) []byte {
	b := encodeMeta(nodeMeta{Draining: d.m.draining.Load(), Answering: d.m.answering.Load(),
		Restarting: d.m.restarting.Load(), Interfaces: d.m.interfaces(), AddrsKnown: true})
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg ignores user messages: we send none.
func (d *delegate) NotifyMsg([]byte) {}

// GetBroadcasts returns no user broadcasts.
func (d *delegate) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState returns no user state for push/pull.
func (d *delegate) LocalState(bool) []byte { return nil }

// MergeRemoteState ignores remote user state.
func (d *delegate) MergeRemoteState([]byte, bool) {}

// NotifyJoin records a member that became alive.
func (d *delegate) NotifyJoin(n *memberlist.Node) { d.m.setMember(memberOf(n)) }

// NotifyUpdate records a member whose metadata changed.
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.m.setMember(memberOf(n)) }

// NotifyLeave drops a member that died or left.
func (d *delegate) NotifyLeave(n *memberlist.Node) { d.m.dropMember(memberOf(n)) }

// memberOf copies what we need out of memberlist's node. Undecodable
// metadata (a foreign or broken member) reads as not draining and not
// answering.
func memberOf(n *memberlist.Node) Member {
	meta, _ := decodeMeta(n.Meta)
	addr, _ := netip.AddrFromSlice(n.Addr)
	m := Member{
		Name:       n.Name,
		Addr:       netip.AddrPortFrom(addr.Unmap(), n.Port),
		Draining:   meta.Draining,
		Answering:  meta.Answering,
		Restarting: meta.Restarting,
		Interfaces: interfaceNames(meta.Interfaces),
		AddrsKnown: meta.AddrsKnown,
	}
	if meta.AddrsKnown {
		m.Addrs = meta.Interfaces
	}
	return m
}
