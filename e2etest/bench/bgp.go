package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// bgpScenarios lists the BGP-mode benchmarks (route latency, 1,000
// prefixes, link cut with BFD). Owned by the BGP suite authors
// (e2etest/bgp).
func bgpScenarios() []Scenario {
	return []Scenario{
		{
			Name: "bgp-latency",
			Description: "BGP Service created → prefix in FRR's BGP table and in the router's kernel table " +
				"(sessions up; from the create call to FRR's log and `ip monitor` timestamps)",
			Run: runBGPLatency,
		},
		{
			Name: "bgp-scale",
			Description: "1,000 BGP Services (endpoints on 3 nodes) → all 1,000 prefixes at FRR from every node, vs the creates alone; " +
				"API-server CPU above the creates alone; speaker RSS and CPU with 1,000 prefixes and 2 peers",
			Run: runBGPScale(0),
		},
		{
			Name: "bgp-scale-paced",
			Description: "bgp-scale with the creates paced as in TARGETS.md's MetalLB baseline (1,000 in ~13 s): " +
				"all prefixes at FRR vs the same paced creates alone",
			Run: runBGPScale(metalLBCreateRate),
		},
		{
			Name: "bgp-rolling",
			Description: "rolling restart of the 3 speakers (SIGTERM, start, route via all nodes again) while outside probes a BGP " +
				"Service every 10 ms: failed probes with graceful shutdown (RFC 8326, FRR honouring it) and without",
			Run: runBGPRolling,
		},
		{
			Name: "bgp-bfd",
			Description: "node link cut → its route withdrawn at the router with BFD (100 ms × 3), " +
				"and with the 9 s hold time alone as the baseline",
			Run: runBGPBFD,
		},
	}
}

// frrDir is the directory of an FRR instance (configs, sockets, logs).
func frrDir(f *routers.FRR) string {
	return filepath.Dir(f.Processes()[0].LogPath())
}

// frrPrefixCounts reads how many IPv4 prefixes FRR has received from each
// neighbour (`show bgp ipv4 unicast summary json`), which stays cheap with
// a large table.
func frrPrefixCounts(ctx context.Context, f *routers.FRR) (map[netip.Addr]int, error) {
	out, err := f.Vtysh(ctx, "show bgp ipv4 unicast summary json")
	if err != nil {
		return nil, err
	}
	return parseFRRSummary(out)
}

// parseFRRSummary parses the per-neighbour received prefix counts of
// `show bgp ipv4 unicast summary json`.
func parseFRRSummary(b []byte) (map[netip.Addr]int, error) {
	var v struct {
		Peers map[string]struct {
			PfxRcd int `json:"pfxRcd"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("parse FRR summary: %w", err)
	}
	out := make(map[netip.Addr]int, len(v.Peers))
	for k, p := range v.Peers {
		if a, err := netip.ParseAddr(k); err == nil {
			out[a] = p.PfxRcd
		}
	}
	return out, nil
}

// nodesV4 returns the lab's nodes' IPv4 addresses.
func nodesV4(l *lab.Lab) []netip.Addr {
	var out []netip.Addr
	for _, n := range l.Topo.Nodes() {
		out = append(out, n.IPv4())
	}
	return out
}

// countEvents counts the Events in namespace ns, and those with reason.
func countEvents(ctx context.Context, l *lab.Lab, ns, reason string) (all, withReason int, err error) {
	evs, err := l.Admin.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("list events in %s: %w", ns, err)
	}
	for _, e := range evs.Items {
		if e.Reason == reason {
			withReason++
		}
	}
	return len(evs.Items), withReason, nil
}

// speakersUsage returns the largest RSS of the lab's speakers and their
// CPU time together.
func speakersUsage(l *lab.Lab) (rss uint64, cpu time.Duration, err error) {
	for _, n := range l.NodeNames() {
		u, err := l.Speaker(n).Usage()
		if err != nil {
			return 0, 0, fmt.Errorf("speaker %s usage: %w", n, err)
		}
		rss = max(rss, u.RSSBytes)
		cpu += u.CPU
	}
	return rss, cpu, nil
}
