package heartbeat

// Stats are a Detector's counters since it was built, for metrics. Every
// field only grows.
type Stats struct {
	// Suspicions raised by this node: a watched node was silent for
	// Timeout. Each ends as Refuted, Undecided or a verdict (ours or
	// another node's), or when the node leaves the peers.
	Suspicions uint64
	// Refuted suspicions: the node was heard again, a confirmer or the
	// node itself knew a newer version, or the probe found it alive.
	Refuted uint64
	// RefutedByProbe counts the refutations by the liveness probe (its
	// kernel accepted a connection): the node was alive but not sending,
	// typically not scheduled for Timeout.
	RefutedByProbe uint64
	// Undecided suspicions were dropped after a while without a
	// confirmation (no other watcher answered: we may be cut off).
	Undecided uint64
	// Verdicts this node reached and announced.
	Verdicts uint64
	// VerdictsReceived: verdicts of other nodes that made this node count
	// a node dead.
	VerdictsReceived uint64
	// Revivals: nodes counted dead that were heard again.
	Revivals uint64
	// DeclaredDeadSelf counts verdicts about this node's own incarnation
	// that reached it: a false verdict (it was running and reachable), or
	// one reached while it was cut off that arrived after its link
	// returned.
	DeclaredDeadSelf uint64
	// IncarnationBumps: a peer knew an incarnation of ours not older than
	// the current one (a restart with the clock behind), so we moved on.
	IncarnationBumps uint64
	// Stalls: wake-ups that came more than Interval/2 late (this process
	// was not scheduled); suspicions wait until queued packets are read.
	Stalls uint64
	// Stale: heartbeats older than one already heard (reordered or
	// duplicated), ignored.
	Stale uint64

	// PacketsSent and PacketsReceived count datagrams; SendErrors the
	// failed writes; Malformed the datagrams that did not decode (or
	// failed authentication); Dropped those the loop was too busy for.
	PacketsSent, PacketsReceived, SendErrors, Malformed, Dropped uint64
	// Probes started, by result.
	ProbesAlive, ProbesRefused, ProbesNoAnswer uint64
}
