// Package heartbeat is a fast, confirmed failure detector for L2 mode: it
// tells a speaker, about a tenth of a second after the fact, that the
// speaker of another node stopped (its process died, its node or link went
// down), and it is built not to say so of a node that runs and is
// reachable, even when that node's process is starved of CPU for seconds or
// the network loses packets: a verdict needs two watchers' silence and two
// failed probes of the node's kernel.
//
// It complements package membership (memberlist), which stays the source of
// who is a member and the fallback for everything this package leaves
// undecided; memberlist needs ~0.45 s to declare a death, most of the outage
// a client sees after a hard failure.
//
// # Contracts
//
// [New] validates and starts nothing. [Detector.Run] opens the transport (a
// UDP socket and a TCP listener on the same port, [DefaultPort] = memberlist's
// + 1), runs until its context ends, then tells every peer it leaves, closes
// the transport and waits for its goroutines. [Detector.SetPeers] gives the
// nodes to watch (name → address; the speaker passes memberlist's members
// with the heartbeat port). [Detector.Dead] lists the peers declared dead;
// [Detector.Changed] (capacity 1, never blocks) fires when it changes.
// [Detector.Stats] has the counters for metrics. One goroutine owns the
// state (type state, pure: packets, probe results, peers and times in;
// packets to send, probes to run and the dead set out); a reader goroutine
// decodes datagrams; probes run in short-lived goroutines.
//
// # Protocol
//
// Watch sets. Nodes sit on a ring by a hash of their names; each node is
// watched by the k (Config.Watchers, default 2) nodes that follow it, so
// each node sends k heartbeats and receives k per Interval whatever the
// cluster size, every node computes the same sets from the same names, and
// a join or leave changes the watchers of k+1 nodes only. A node keeps
// sending to former watchers for WatchGrace, so peers whose node list lags
// keep hearing it. Nodes declared dead leave the ring (their watchees get
// new watchers).
//
// Heartbeats. Every Interval (default 20 ms), on beats aligned with the
// wall clock, a node sends its version (incarnation, sequence number) to its
// watchers. The incarnation comes from the wall clock at start, so a
// restarted node is newer than its previous run; if a peer knows a newer
// one (the clock went back), it says so and the node moves above it.
// Versions order everything: a verdict names the last version heard, and
// any newer version proves the node alive after it, so reordered, repeated
// or replayed packets neither kill nor resurrect anyone: a peer is dead
// exactly while the newest verdict about it is not older than the newest
// version known of it.
//
// Suspicion. A watcher that has heard a node and then hears nothing for
// Timeout (default 70 ms) suspects it: it asks the node's other watchers
// and the node itself (Query) whether they know a newer version, and probes
// the node's kernel: a few TCP connection attempts to its port over
// ProbeTimeout (default 30 ms). The kernel completes a handshake even while
// the process is not scheduled, and refuses it once the process is gone.
// Any newer version, or a probe that connects, refutes the suspicion.
//
// Verdict. It needs both a confirmation and a failed probe (Refused or
// NoAnswer) of our own. A confirmer (another watcher) answers Silent only
// if it heard nothing newer either and its own probe of the node failed
// too: two vantage points. A probe alone can miss a live node whose kernel
// answers late (its softirq work deferred to a starved ksoftirqd, most
// likely: 6 in ~1,900 probes with both cores saturated); two rarely both
// do. Each node
// runs at most one probe of a peer at a time, serving its own suspicion and
// the queries it was asked. The watcher then sends the verdict (Dead) to
// every peer, Retransmits times (default 3), Interval apart; every detector
// reports the node dead at once. A node with no other watcher (a cluster of 2) is never
// declared dead; neither is a node never heard. A watcher whose own link is
// cut suspects everyone but gets no confirmation: it declares nobody.
//
// Revival. A watcher that hears a node newer than its verdict tells every
// peer (Alive); so does a node that receives a verdict older than what it
// heard within Timeout. A verdict that is not refuted expires after
// VerdictTTL (default 30 s; memberlist has long declared a dead node dead by
// then); a node is not suspected again before it is heard again. A node
// that stops on purpose says so (Leave): it is not declared dead (a planned
// stop is memberlist's to handle: draining, rolling updates).
//
// A node told it is dead while it runs does not broadcast a refutation: its
// next heartbeat (newer than the verdict) refutes it at its watchers, who
// tell everyone. A refutation sent to all by the node itself would also
// reach the nodes that heard the verdict but can reach the node while its
// watchers cannot (a partial partition), and the cluster would disagree
// about it; through its watchers, the cluster keeps one view.
//
// Packets (see packet.go): one protocol version byte, a kind, the
// sender's name, then per kind a subject, a query id, an answer status and
// a version; with Config.Key, a 16-byte HMAC-SHA256 under a key derived
// from it. At most ~560 bytes; a heartbeat of a 9-byte name is 44.
//
// # Timing
//
// After a failure at a uniformly random time, with I = Interval, T =
// Timeout, P = ProbeTimeout and RTT the LAN round trip:
//
//	link or node down:           T + P − U(0, I)       (80–100 ms by default)
//	process killed, link up:     T + RTT − U(0, I)     (50–70 ms: the kernel refuses)
//
// plus the loop's scheduling and the confirmer's answer (its probe runs
// alongside ours). The verdict reaches every node one RTT later.
// A live node is declared dead only if (1) a watcher hears nothing from it
// for T, (2) a second watcher has heard nothing newer either, and (3) the
// probes of both get no answer within P. For a node whose process is
// merely not scheduled (a stall: the lab saw silences of 2.8 s), (3)
// fails; for random loss, (1) and (2) need every heartbeat of T lost at
// two watchers and (3) both packets of each of 6 handshakes lost, twice
// (2% loss: far below 1e-9 per suspicion). What remains is a node whose
// kernel answers neither prober within P while its process lives: a
// kernel, NIC or link stalled that long, which the clients of its
// addresses see as an outage too.
//
// Cost: k/I heartbeats per second per node in each direction (100/s out
// and 100/s in by default), constant in the cluster size, 44–60 bytes each;
// the process wakes about once per beat, its watchees' heartbeats arriving
// on the same beat as its own. Probes, queries and verdicts only when
// something happens.
//
// # Measured
//
// Four detectors as separate processes in network namespaces on a bridge,
// on a 2-vCPU VM shared with other jobs (load average 2–6); netns_test.go
// has the harness (PYLON_HEARTBEAT_* variables). Interval/Timeout/
// ProbeTimeout, 20 failures each, time to the verdict at each of the 3
// other nodes:
//
//	setting         link down p50/max    SIGKILL (link up) p50/max
//	10/35/15 ms      53 / 151 ms           31 /  36 ms
//	20/70/30 ms      99 / 105 ms           66 /  91 ms   (default)
//	50/175/50 ms    207 / 233 ms          154 / 170 ms
//
// With 2% of every node's input dropped (nftables) and a busy loop per
// CPU, no verdict in 10 min + 4×3 min at the default (about 1,100
// suspicions, all refuted, most by the probe; silences up to 3.5 s), nor
// in 2×3 min at each other setting. Probes missed a live node 6 times in
// ~1,900, never two at once. Idle, per detector: 100 packets/s out and 100
// in, 1.3–1.9% of a core at the default (200+200, 3.6% at 10 ms; 40+40,
// 0.7% at 50 ms), where memberlist with Pylon's settings uses 1.1–1.3% and
// a bare Go process waking 50 times a second 1.1%.
//
// # Using it in the speaker
//
// Peers are memberlist's members at the detector's port; a node memberlist
// drops leaves the peers, and its verdict with it. Elections leave out the
// members Dead lists. A speaker that stops on purpose must end Run before
// it exits, so that its peers receive its Leave; otherwise its stop is
// taken for a failure and its addresses move. Fast detection does not
// remove memberlist's own false deaths under load (package membership
// counts one in ~300 s at load 6–13): with this detector deciding the fast
// path, memberlist can run with slower, safer timing.
package heartbeat
