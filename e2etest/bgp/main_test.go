//go:build e2e

package bgp

import (
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// bgpCase is one case of the suite; it runs on the shared lab and leaves
// the baseline behind (env.reset runs after it).
type bgpCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// TestBGP brings one lab up (three nodes, router and router2, and
// point-to-point links from the nodes to the router), FRR on the
// router, the baseline configuration and Pylon, then runs every case in
// order. BIRD replaces FRR on the router for the last cases, then GoBGP
// replaces BIRD (or FRR, when only the GoBGP cases run).
func TestBGP(t *testing.T) {
	opts := lab.Options{Nodes: 3, Router2: true, Unnumbered: true}
	labtest.RequirePylon(t, opts)
	l := labtest.Start(t, opts)
	frr, err := l.StartFRR(ctx(t), "router", frrRouterConfig(l))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{l: l, frr: frr}
	e.apply(t, baseConfig)
	if err := l.StartPylon(ctx(t), lab.PylonOptions{}); err != nil {
		t.Fatal(err)
	}
	ns := e.waitEstablished(t, frr, e.baseSessions())
	for a, n := range ns {
		if n.RemoteAS != lab.NodeASN {
			t.Errorf("FRR's session from %s is with AS %d, want %d (eBGP)", a, n.RemoteAS, lab.NodeASN)
		}
	}
	for _, c := range frrCases {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(func() { e.reset(t) })
			c.run(t, e)
		})
	}
	t.Run("BIRD", func(t *testing.T) { testBIRD(t, e) })
	t.Run("GoBGP", func(t *testing.T) { testGoBGP(t, e) })
}

// frrCases run against FRR on the router.
var frrCases = []bgpCase{
	{"ClusterECMP", testClusterECMP},
	{"Local", testLocal},
	{"UCMP", testUCMP},
	{"Communities", testCommunities},
	{"Aggregation", testAggregation},
	{"PeersSelection", testPeersSelection},
	{"NodeSelectors", testNodeSelectors},
	{"NodeExclusion", testNodeExclusion},
	{"PeerChangeIsolation", testPeerChangeIsolation},
	{"DualStackSessions", testDualStackSessions},
	{"LocalASN", testLocalASN},
	{"HoldTimeZero", testHoldTimeZero},
	{"IBGP", testIBGP},
	{"MD5", testMD5},
	{"BFD", testBFD},
	{"GracefulRestart", testGracefulRestart},
	{"GracefulShutdown", testGracefulShutdown},
	{"MultiHop", testMultiHop},
	{"Unnumbered", testUnnumbered},
}
