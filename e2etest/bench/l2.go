package bench

// l2Scenarios lists the L2-mode benchmarks (failover, handoff, ARP/HTTP
// latency). Owned by the L2 suite authors (e2etest/l2).
func l2Scenarios() []Scenario {
	return nil
}
