// Package bgp is the end-to-end suite of Pylon's BGP mode: API objects
// (IPAddressPool, BGPPeer, BGPAdvertisement, Community, BFDProfile,
// Services and their EndpointSlices) go in at the API server; the
// controller and three speakers run as in a cluster; real routers (FRR
// with zebra, bgpd and bfdd, and BIRD 2) learn the routes; the suite
// checks their BGP tables, the router namespace's kernel table and
// traffic from the host behind the router to the nodes' HTTP servers.
//
// One lab serves the whole suite (TestBGP and its subtests, in order):
// FRR on the router for most cases, FRR on router2 for multi-hop eBGP and
// for a second router, and BIRD 2 on the router at the end. Every case
// cleans up after itself (Services, advertisements, peers back to the
// baseline) and waits until the router holds no route of Pylon's pools
// before the next starts. Build tag e2e; needs root and the binaries:
//
//	make build && go test -tags e2e ./e2etest/bgp
package bgp
