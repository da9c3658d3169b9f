// Package ipam allocates load-balancer IP addresses for Services from
// configured address pools.
//
// The allocator is pure logic: it imports the standard library only and does
// no I/O. It is not safe for concurrent use; the controller serialises every
// call behind its own mutex.
//
// # Choosing a pool
//
// A pool with a [Policy] (an IPAddressPool's serviceAllocation) admits a
// service only when every non-empty list of the policy matches. Without a
// requested pool or requested IPs, pools are tried in this order: auto-assign
// pools with a policy that admits the service, by priority (lower first, 0 =
// unset sorts after every positive value) then name; then auto-assign pools
// without a policy, by name. A pool named in the request, or one holding a
// requested IP, is used whatever its AutoAssign, but it must still admit the
// service. Inside a pool the lowest free address is taken.
//
// # Families
//
// SingleStack gets one address of Families[0]. RequireDualStack gets one
// address of each family from one pool. PreferDualStack asks for both
// families from one pool; the dual-stack preference beats pool order, so a
// later pool that can serve both wins over an earlier single-family one. When
// no eligible pool can serve both, the service gets one address of
// Families[0], or else of Families[1].
//
// # Sharing
//
// An address is held by several services only when they all carry the same
// non-empty sharing key and the same backend key and no (protocol, port)
// pair overlaps. A service with a sharing key prefers an address already held
// under that key (in an eligible pool) to a fresh one.
//
// # Stickiness
//
// Allocate first tries to keep what the service already holds: its pool (if
// the pool still admits it, whatever its priority or AutoAssign) and each of
// its addresses that is still legitimate there. A valid assignment therefore
// comes back unchanged, and adding ranges or reprioritising pools never moves
// anything. A PreferDualStack service holding one family gains the other
// from the same pool once that pool has a free address of it; its existing
// address never moves for that. When the request cannot be met, a previous
// assignment that is still legitimate (every address inside a pool that
// admits the service, not an avoided buggy address, sharing compatible) is
// kept and the error is returned; an illegitimate one is released.
//
// SetPools keeps every assignment. Addresses outside every pool become
// orphans: still held, still reported by Get, left out of Stats, and moved by
// the service's next Allocate.
//
// # Reserved addresses
//
// SetReserved lists addresses that are never handed out: the network's own
// (nodes, routers, subnet network and broadcast addresses). They leave the
// free sets, so skipping them costs nothing per allocation; a request or a
// sharer that names one fails with ErrReservedIP and the reason. A service
// that already holds an address when it becomes reserved keeps it, through
// Allocate and Assign alike, so a new node never takes a working address
// away; its caller finds such holders with Holders and reports them. A
// reserved address its holder releases does not return to the free set.
//
// # Cost
//
// Free addresses are kept per pool and family as an ordered set of free
// intervals (a treap), and the auto-assign pools that still have room are
// kept in a bitset in try order. A fresh allocation costs O(log intervals)
// plus a scan of that bitset, 64 pools a word: it does not grow with how
// full a pool is or with how many pools are full, and an IPv6 /64 costs one
// interval up front. A service with a sharing key also looks at each
// address already held under its sharing and backend keys. Only a failed
// allocation walks the pools, to explain itself. SetPools costs
// O(pools log pools) when no range changes, and O(held + reserved
// addresses) when one does. SetReserved costs O(reserved addresses) plus
// O(log intervals) per address whose reservation changed.
package ipam
