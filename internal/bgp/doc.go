// Package bgp announces Pylon's service prefixes to routers with an embedded
// gobgp (v4) speaker. It is the only package that imports gobgp.
//
// The consumer (the speaker's event loop) drives a small declarative
// interface, Speaker: SetPeers with the full list of sessions, SetPaths
// with the full set of paths (the Server diffs both against what it has
// applied: its table of announced paths is the only one), and
// Sessions/Changed to observe session state. bgptest.Fake implements
// Speaker for tests of callers.
//
// Values arrive validated and defaulted (package model does both for
// Pylon's configuration); this package rejects only what gobgp cannot do:
// BFD passive, echo and TTL checks, BFD on multi-hop sessions, two router
// IDs, two sessions to one address, prefixes gobgp cannot encode.
//
// # Design
//
//   - Sessions are keyed by PeerConfig.Name. Any change to a session's
//     configuration deletes and re-adds that gobgp neighbor; other sessions
//     are not touched. Addresses must be unique (gobgp keys by address).
//   - One loop (Server.Run) owns all state and is the only caller of gobgp
//     after start-up. Public methods hand it closures; gobgp's WatchEvent
//     callback only pokes a channel, and the loop then reads gobgp's state.
//     It also reads it every Config.StatePollInterval: gobgp has no BFD
//     events, and it sends the Established event before ListPeer shows it.
//   - Received routes are dropped by a global import policy (default reject).
//   - Per-session targeting (Path.Peers) is done with gobgp's global export
//     policy: one policy per session, whose deny prefix sets hold the
//     prefixes not meant for it (see policy.go). gobgp only has per-neighbor
//     policies for route-server clients, which would change path selection;
//     VRFs would need route targets on every path. When an existing prefix
//     changes targets, the sessions it leaves or joins are soft-reset
//     outbound (gobgp re-sends their table, without a flap): gobgp would
//     neither withdraw it nor re-send an unchanged path on its own. Resets
//     are collected for 50 ms, so a burst of changes costs one per session.
//   - Address families: a session carries its own family. It carries the
//     other family only when PeerConfig.IPv6NextHop (IPv4 session) or
//     IPv4NextHop (IPv6 session) is set, with that next hop. Without it gobgp
//     would send an IPv4-mapped IPv6 next hop that routers cannot use.
//   - BFD is gobgp's native single-hop BFD: intervals and multiplier only
//     (BFDSupports lists what it cannot do). When BFD goes down, gobgp itself
//     resets the BGP session (bfdPeer.expiry calls ResetPeer). BFD is
//     switched on for a session only once it has been Established for a
//     second, and off when it goes down (bfdarm.go): routers such as FRR
//     with dynamic neighbours replace their BFD session right after the
//     BGP session comes up, and gobgp, bound to the first one, would reset
//     the BGP session every few seconds.
//   - Graceful restart: sessions advertise the capability with a 120 s
//     restart time; Run stops without NOTIFICATION so routers keep our routes
//     as stale; a new Server announces itself as restarting (R and F bits),
//     and the router keeps the stale routes until our End-of-RIB. A restarted
//     speaker should SetPaths everything it announces before its first
//     SetPeers, so that End-of-RIB follows the full table.
package bgp
