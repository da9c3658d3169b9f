// Package demo is what `make lab` (`pylon-lab up --demo`) shows a new
// user: a running Pylon in the lab with a sample configuration (an L2 pool
// and a BGP pool peering with FRR), demo Services, and the facts that prove
// it works: the IPs assigned, who announces each (the client's neighbour
// table for L2, the router's table for BGP) and which node answers an HTTP
// request through each.
//
// [Prepare] starts the router, applies the configuration and starts Pylon;
// the benchmarks (package bench) use it for a ready lab too.
package demo
