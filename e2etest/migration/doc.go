// Package migration is the end-to-end test of moving a cluster from MetalLB
// to Pylon, in the lab: Services with addresses, annotations and status
// exactly as MetalLB leaves them (L2 and BGP pools, a shared address,
// dual-stack, requested addresses) and MetalLB's objects as its
// documentation writes them; then `kubectl pylon migrate metallb`, apply
// its output, start Pylon. No address may change, every address must be
// announced again (ARP/NDP to the client, BGP to the router) and clients'
// traffic must resume. Build tag e2e; needs root and bin/ built:
//
//	make build && go test -tags e2e ./e2etest/migration
package migration
