// Package l2 is the end-to-end suite of Pylon's L2 mode, run in the lab
// against a real Linux client: ARP/NDP answers from the elected node (the
// owner predicted by internal/election over the live speakers), HTTP
// through the address reaching that node, fail-over after a crash, a cut
// link or a graceful stop, and the announcement rules (externalTrafficPolicy
// Local, node selectors, interface selection, the exclusion label, shared
// and dual-stack addresses, Services without ready endpoints). Build tag
// e2e; needs root and bin/ built:
//
//	make build && go test -tags e2e ./e2etest/l2
//
// The whole package shares one lab (TestL2); each behaviour is a subtest
// that starts from the same baseline (every speaker running, every link up,
// no test labels or extra advertisements).
//
// The package's non-test code is what the suite and the L2 benchmarks
// (e2etest/bench) share: the owner internal/election predicts, and the
// speakers' membership and ownership read from their metrics.
package l2
