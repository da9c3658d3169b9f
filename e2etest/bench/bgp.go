package bench

// bgpScenarios lists the BGP-mode benchmarks (route latency, 1,000
// prefixes, link cut with BFD). Owned by the BGP suite authors
// (e2etest/bgp).
func bgpScenarios() []Scenario {
	return nil
}
