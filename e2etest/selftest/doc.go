// Package selftest is the lab's own end-to-end suite: it proves that the
// namespaces reach each other over IPv4 and IPv6, that a client reaches a
// node's HTTP server through a service IP on the node's lo, that the API
// server is reachable (and authenticates ServiceAccount tokens) from every
// node, that FRR and BIRD peer with test speakers and install routes the
// outside host uses, and that closing or reaping a lab leaves nothing
// behind. Its tests carry the build tag e2e and need root:
//
//	go test -tags e2e ./e2etest/selftest
package selftest
