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
// [Membership.SetInterfaces] publishes the speaker's usable interfaces
// with their address families and subnets, for subnet-aware L2 election.
// They ride in the member metadata (at most 512 bytes: 16 names, then up
// to 240 bytes of subnets, in a section that speakers of earlier versions
// skip); a member of an earlier version shows names only
// (Member.AddrsKnown false).
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
// peer per P, round robin in an order shuffled every round, so with 3
// members each survivor probes the dead one every 1–3 P; the first of the
// two probes comes after about P/2 on average, rarely after more than 2P.
//
// P: the probe itself. memberlist pings directly and waits ProbeTimeout,
// then asks up to 3 other members to ping indirectly and tries TCP; the
// probe fails only when P has elapsed without any ack (state.go probeNode).
// ProbeTimeout must stay below P/2: the indirect helpers wait ProbeTimeout
// themselves before they send their nack, and a nack arriving after P counts
// against our own health (Lifeguard awareness, [Membership.HealthScore]),
// which stretches our probe interval by one P per point, up to 8 P.
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
// max − log(n+1)/log(k+1) × (max−min)); with k = 0 it is simply min. A
// member confirms when its own probe of the suspect fails. The suspect may
// refute within S (it hears the suspicion by gossip and answers with a
// higher incarnation). The first member to time out gossips "dead"; the
// others drop the member within one GossipInterval, or by their own timers.
//
// Defaults: P = 100 ms, ProbeTimeout = 40 ms, SuspicionMult = 3 (k = 1),
// SuspicionMaxTimeoutMult = 2, GossipInterval = 20 ms, RetransmitMult = 4:
//
//	N        min      max      k   expected T
//	2        300 ms   600 ms   0   0.40–0.6 s (nobody can confirm: S = min)
//	3–10     300 ms   600 ms   1   0.40–0.7 s (the other survivor confirms within ~P)
//	20       390 ms   780 ms   1   ~0.6 s
//	100      600 ms   1.20 s   1   ~0.8 s
//
// Measured with 3 members in network namespaces on a 2-core machine loaded
// by other jobs (load average 6–10), as separate processes, after SIGKILL
// with the link up or link down and SIGKILL: p50 0.47 s, max 0.81 s over
// 240 failures; a restarted member was back in every view after 27 ms
// (p50). In simulated time (no CPU noise) the same defaults give p50
// 0.46–0.49 s, max 0.66 s. memberlist's own LAN defaults (P = 1 s,
// SuspicionMult = 4, max mult 6) give at least 5 s, the figure MetalLB
// shows.
//
// # Trade-offs
//
// A live member is falsely declared dead only if it acks no direct,
// indirect or TCP probe for a whole P and then does not refute within S:
// silent for about P + min ≈ 0.4 s when two members accuse it, P + max ≈
// 0.7 s when one does (so one sick accuser alone rarely wins). CPU
// starvation (a CPU-limited pod, an overloaded node), a burst of packet loss
// longer than that, or a saturated link dropping UDP can do it. The price in
// L2 mode is a needless fail-over and fail-back, each a gratuitous ARP/NA;
// and a speaker silent that long answers no ARP either, so moving its IPs
// is no worse. At load average 6–13 on 2 cores we saw a refuted false
// suspicion every 5–10 s, and one false death in about 300 s of running
// (with SuspicionMult 4; none with 3). On lossy or busy
// networks raise ProbeInterval and SuspicionMult (memberlist's LAN defaults
// are the conservative end). The cost of the defaults is small: each member
// sends 10 pings/s (about 150 bytes each, encrypted) whatever N is; gossip
// is sent only while there is news; a full state exchange over TCP runs
// every 30 s (slower beyond 32 members).
package membership
