// Package membership tells a Pylon speaker which speakers are alive.
//
// Each speaker (one per node, host network) runs one [Membership]. It wraps
// hashicorp/memberlist (SWIM with the Lifeguard extensions), and it is the
// only Pylon package that imports memberlist. L2 mode elects one node per
// service IP among the live members, so how fast a dead speaker is declared
// dead bounds how long an IP stays unanswered after a crash. The defaults
// ([DefaultConfig]) are tuned for that, on a LAN.
//
// # Contracts
//
// [New] validates and starts nothing; [Membership.Run] binds the sockets,
// joins the peers given to [Membership.SetPeers], and runs until its context
// ends; then it leaves the cluster (bounded by Config.LeaveTimeout), shuts
// memberlist down and returns. A Membership runs once.
//
// memberlist's callbacks only copy the changed member into a small map and
// do a non-blocking send on [Membership.Changed]; the speaker's loop then
// reads [Membership.Members]. Members lists alive and suspect members (a
// suspect member is still answering as far as anyone knows); a member
// disappears the moment memberlist declares it dead or it leaves.
//
// A speaker that stops gracefully first calls [Membership.SetDraining]: its
// peers see Draining in Members (and [Active] drops it) and re-elect while
// it still answers; then it leaves (Run does so when its context ends).
//
// Gossip is encrypted (AES-GCM, Config.SecretKey) and carries the label
// "pylon", unless Config.Insecure is set explicitly.
//
// # Failure detection maths (memberlist v0.7.0)
//
// With P = ProbeInterval and N the number of members memberlist knows, a
// member that dies is declared dead after
//
//	T = W + P + S
//
// W: the wait until some live member probes it next. Each member probes one
// peer per P, round robin in a shuffled order, so with N-1 probers the first
// probe comes after about P/2 on average (3 members), rarely more than 2P.
//
// P: the probe itself. memberlist pings directly and waits ProbeTimeout,
// then asks up to 3 other members to ping indirectly and tries TCP; the
// probe fails only when P has elapsed without any ack (state.go probeNode).
// ProbeTimeout must stay below P/2: the indirect helpers wait ProbeTimeout
// themselves before they send their nack, and a nack arriving after P counts
// against our own health (Lifeguard awareness), which then stretches our
// probe interval up to 8 P.
//
// S: the suspicion timeout (util.go suspicionTimeout, state.go suspectNode,
// suspicion.go):
//
//	min = SuspicionMult × max(1, log10 N) × P
//	max = SuspicionMaxTimeoutMult × min
//	k   = SuspicionMult − 2 independent confirmations, or 0 if N−2 < k
//
// The timer starts at max and falls towards min as other members confirm
// the suspicion (after n of k confirmations it is
// max − log(n+1)/log(k+1) × (max−min)); with k = 0 it is simply min. The
// suspect may refute within S (it hears the suspicion by gossip and answers
// with a higher incarnation). The first member to time out gossips "dead";
// the others drop the member within one GossipInterval, or by their own
// timers, which started at nearly the same moment.
//
// Defaults: P = 100 ms, ProbeTimeout = 40 ms, SuspicionMult = 4,
// SuspicionMaxTimeoutMult = 2, GossipInterval = 20 ms, RetransmitMult = 4:
//
//	N        min      max      k   expected T
//	3        400 ms   800 ms   0   0.50–0.70 s (S fixed at 400 ms)
//	4–10     400 ms   800 ms   2   0.55–0.9 s (confirmations arrive within ~2P)
//	20       520 ms   1.04 s   2   ~0.7 s
//	100      800 ms   1.60 s   2   ~1.0 s
//
// memberlist's own LAN defaults (P = 1 s, SuspicionMult = 4, max mult 6)
// give at least 5 s, the figure MetalLB shows.
//
// # Trade-offs
//
// A live member is falsely declared dead only if it neither acks direct,
// indirect nor TCP probes for a whole P nor refutes the suspicion within S:
// it must be silent for roughly P + S − GossipInterval ≈ 0.45 s (N = 3).
// CPU starvation (a CPU-limited pod, an overloaded node), a burst of packet
// loss longer than that, or a busy 1 Gbit/s link dropping UDP can do it; the
// price in L2 mode is a needless fail-over and fail-back, each a gratuitous
// ARP/NA. Lifeguard's awareness slows the probing of a member that sees its
// own probes go unanswered, so a sick prober accuses less. On lossy or busy
// networks raise ProbeInterval and SuspicionMult (memberlist's LAN defaults
// are the conservative end). The cost of the defaults is small: each member
// sends 10 pings/s (about 150 bytes each, encrypted) whatever N is; gossip is
// sent only while there are updates; a full state exchange over TCP runs
// every 30 s (slower beyond 32 members).
package membership
