//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// adv renders a BGPAdvertisement; spec is YAML flow syntax.
func adv(name, spec string) string {
	return fmt.Sprintf("---\napiVersion: pylonlb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: %s}\nspec: %s\n", name, spec)
}

// testClusterECMP: a Cluster Service with one ready endpoint anywhere is
// announced by every node, IPv4 and IPv6: the router installs ECMP routes
// via all three nodes, traffic from outside reaches a node, the Service's
// events name the announcing nodes, and without a ready endpoint every
// node withdraws.
func testClusterECMP(t *testing.T, e *env) {
	e.apply(t, adv("main", "{ipAddressPools: [main]}"))
	ips := e.service(t, svc{name: "ecmp", families: dualStack, ready: []string{"node1"}})
	all := e.l.NodeNames()
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip), all...)
		e.waitNextHops(t, e.frr, host(ip), all...)
		e.serve(t, ip)
		t.Logf("outside → %s answered by %s", ip, e.waitHTTP(t, ip))
	}
	e.waitAnnouncedEvents(t, "ecmp", all, []string{"frr4", "frr6"})

	e.setReady(t, "ecmp")
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip))
	}
	e.setReady(t, "ecmp", "node3")
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip), all...)
	}
}

// testLocal: a Local Service is announced only by nodes with a ready
// local endpoint, and the route moves with the endpoints.
func testLocal(t *testing.T, e *env) {
	e.apply(t, adv("main", "{ipAddressPools: [main]}"))
	ips := e.service(t, svc{name: "local", families: dualStack, local: true, ready: []string{"node1"}})
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip), "node1")
		e.waitNextHops(t, e.frr, host(ip), "node1")
		e.serve(t, ip) // every node serves it: the route alone decides who answers
		e.waitHTTP(t, ip, "node1")
	}
	e.setReady(t, "local", "node2", "node3")
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip), "node2", "node3")
		e.waitHTTP(t, ip, "node2", "node3")
	}
	e.setReady(t, "local")
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip))
	}
}

// communitiesConfig defines aliases and two advertisements of one pool
// whose communities must be merged on one path per prefix.
const communitiesConfig = `---
apiVersion: pylonlb.io/v1beta1
kind: Community
metadata: {name: aliases}
spec:
  communities:
  - {name: gold, value: "64500:666"}
  - {name: big, value: "large:64500:1:2"}
` + `---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: tagged}
spec: {ipAddressPools: [main], communities: ["64500:100", "large:64500:7:8", gold, big]}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: tagged2}
spec: {ipAddressPools: [main], communities: ["64500:200"]}
`

// testCommunities: standard, large and aliased communities reach FRR on
// every path, merged across two advertisements of the same prefix, each
// node sending the prefix once per session.
func testCommunities(t *testing.T, e *env) {
	e.apply(t, communitiesConfig)
	ips := e.service(t, svc{name: "tagged", families: dualStack, ready: []string{"node2"}})
	wantStd := []string{"64500:100", "64500:200", "64500:666"}
	wantLarge := []string{"64500:1:2", "64500:7:8"}
	for _, ip := range ips {
		dst := host(ip)
		e.waitNextHops(t, e.frr, dst, e.l.NodeNames()...)
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.RouteDetail(ctx, dst.String())
			if err != nil {
				return false, err
			}
			// One path per node: each session carries its own family.
			return checkPaths(rs, len(e.l.NodeNames()), func(r routers.Route) error {
				if !slices.Equal(sorted(r.Communities), wantStd) || !slices.Equal(sorted(r.LargeCommunities), wantLarge) {
					return fmt.Errorf("path from %s has communities %v, large %v", r.Peer, r.Communities, r.LargeCommunities)
				}
				return nil
			})
		}, "every path of %s at FRR carries communities %v and large communities %v", dst, wantStd, wantLarge)
	}
}

// checkPaths checks that rs has n paths, one per neighbour, each passing
// check.
func checkPaths(rs []routers.Route, n int, check func(routers.Route) error) (bool, error) {
	seen := map[netip.Addr]bool{}
	for _, r := range rs {
		if seen[r.Peer] {
			return false, fmt.Errorf("two paths from %s", r.Peer)
		}
		seen[r.Peer] = true
		if err := check(r); err != nil {
			return false, err
		}
	}
	if len(rs) != n {
		return false, fmt.Errorf("%d paths, want %d", len(rs), n)
	}
	return true, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// testAggregation: several Services of a pool announced with
// aggregationLength 26 (IPv6: 120) are one prefix per family at the
// router; it stays while any of them is announced and traffic to each
// address flows through it.
func testAggregation(t *testing.T, e *env) {
	e.apply(t, adv("agg", "{ipAddressPools: [agg], aggregationLength: 26, aggregationLengthV6: 120}"))
	var ips []netip.Addr
	for _, n := range []string{"agg-a", "agg-b", "agg-c"} {
		ips = append(ips, e.service(t, svc{name: n, pool: poolAgg, families: dualStack, ready: []string{"node1"}})...)
	}
	agg4, agg6 := netip.MustParsePrefix("198.51.100.64/26"), netip.MustParsePrefix("2001:db8:100::100/120")
	all := e.l.NodeNames()
	e.waitKernel(t, "router", agg4, all...)
	e.waitKernel(t, "router", agg6, all...)
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := e.frr.Routes(ctx)
		if got := routers.Prefixes(rs); !slices.Equal(got, []netip.Prefix{agg4, agg6}) {
			return false, fmt.Errorf("FRR has %v", got)
		}
		return true, err
	}, "FRR has exactly the two aggregates")
	for _, ip := range ips {
		e.serve(t, ip)
		e.waitHTTP(t, ip)
	}
	for _, n := range []string{"agg-a", "agg-b"} {
		if err := e.l.Admin.DeleteService(ctx(t), types.NamespacedName{Namespace: "default", Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	e.barrier(t)
	e.waitKernel(t, "router", agg4, all...)
	e.waitKernel(t, "router", agg6, all...)
	if err := e.l.Admin.DeleteService(ctx(t), types.NamespacedName{Namespace: "default", Name: "agg-c"}); err != nil {
		t.Fatal(err)
	}
	e.waitKernel(t, "router", agg4)
	e.waitKernel(t, "router", agg6)
}

// barrier makes sure every speaker has processed the Service changes made
// before it: it announces a new Service of the extra pool from every node
// and waits for it at the router (speakers handle Service changes in
// order), then removes it again.
func (e *env) barrier(t *testing.T) {
	t.Helper()
	e.apply(t, adv("barrier", "{ipAddressPools: [extra]}"))
	name := fmt.Sprintf("barrier-%d", time.Now().UnixNano()%1e6)
	ips := e.service(t, svc{name: name, pool: poolExtra, ready: e.l.NodeNames()})
	e.waitNextHops(t, e.frr, host(ips[0]), e.l.NodeNames()...)
	if err := e.l.Admin.DeleteService(ctx(t), types.NamespacedName{Namespace: "default", Name: name}); err != nil {
		t.Fatal(err)
	}
	e.del(t, resAdvs, "barrier")
	e.waitNextHops(t, e.frr, host(ips[0]))
}

// waitAnnouncedEvents waits until the Service has one BGPAnnounced event
// (one speaker reports for all) naming every announcing node and every
// peer.
func (e *env) waitAnnouncedEvents(t *testing.T, name string, nodes, peers []string) {
	t.Helper()
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		list, err := e.l.Admin.Kube.EventsV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var notes []string
		for _, ev := range list.Items {
			if ev.Regarding.Kind == "Service" && ev.Regarding.Name == name && ev.Reason == "BGPAnnounced" {
				notes = append(notes, ev.Note)
			}
		}
		if len(notes) != 1 {
			return false, fmt.Errorf("BGPAnnounced events %q, want one", notes)
		}
		for _, s := range append(slices.Clone(nodes), peers...) {
			if !strings.Contains(notes[0], s) {
				return false, fmt.Errorf("event %q does not mention %s", notes[0], s)
			}
		}
		return true, nil
	}, "one BGPAnnounced event of %s names nodes %v and peers %v", name, nodes, peers)
}
