// Package smoke is the lab's smoke suite for Pylon itself: the controller
// assigns an address and a client reaches a node's HTTP server through it,
// in L2 mode (the LAN client, ARP/NDP) and in BGP mode (the outside host,
// through the router's FRR). Build tag e2e; needs root and bin/ built:
//
//	make build && go test -tags e2e ./e2etest/smoke
package smoke
