// Package clustersuite holds the end-to-end suites that run Pylon the way
// users install it: its image, its chart (and config/default), on a real
// cluster of kubelets, containerd and kube-proxy (package cluster), with
// FRR on the router and a client on the nodes' LAN. Build tag e2e.
package clustersuite
