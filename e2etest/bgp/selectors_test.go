//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// testPeersSelection: two advertisements send different pools over
// different sessions to the same router (the IPv4 and the IPv6 session
// of each node, both made to carry both families): each prefix arrives
// only over the sessions its advertisement names.
func testPeersSelection(t *testing.T, e *env) {
	e.apply(t, peer("frr4", `{myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s, dualStackAddressFamily: true}`)+
		peer("frr6", `{myASN: 64501, peerASN: 64500, peerAddress: "fd00:77::254", connectTime: 1s, dualStackAddressFamily: true}`))
	e.waitEstablished(t, e.frr, e.baseSessions())
	e.apply(t, adv("to4", "{ipAddressPools: [main], peers: [frr4]}")+adv("to6", "{ipAddressPools: [extra], peers: [frr6]}"))
	a := e.service(t, svc{name: "via4", families: dualStack, ready: []string{"node1"}})
	b := e.service(t, svc{name: "via6", pool: poolExtra, families: dualStack, ready: []string{"node1"}})
	for _, c := range []struct {
		ips []netip.Addr
		v6  bool // the session family that must carry them
	}{{a, false}, {b, true}} {
		for _, ip := range c.ips {
			dst := host(ip)
			want := e.nodeAddrs(ip.Is6(), e.l.NodeNames()...)
			e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
				rs, err := e.frr.Routes(ctx)
				if err != nil {
					return false, err
				}
				right, wrong := routesFrom(rs, dst, c.v6), routesFrom(rs, dst, !c.v6)
				if len(wrong) > 0 || !slices.Equal(routers.NextHops(right, dst), want) {
					return false, fmt.Errorf("over the named sessions via %v, over the others %d paths", routers.NextHops(right, dst), len(wrong))
				}
				return true, nil
			}, "%s arrives at FRR only over the IPv6=%v sessions, from every node", dst, c.v6)
		}
	}
}

// testNodeSelectors: an advertisement's nodeSelectors choose the
// announcing nodes; a BGPPeer's nodeSelectors choose the nodes that open
// the session at all.
func testNodeSelectors(t *testing.T, e *env) {
	e.apply(t, adv("only2", "{ipAddressPools: [main], nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node2}}]}"))
	ips := e.service(t, svc{name: "sel-adv", families: dualStack, ready: []string{"node1"}})
	for _, ip := range ips {
		e.waitKernel(t, "router", host(ip), "node2")
	}

	e.apply(t, `---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr4}
spec:
  myASN: 64501
  peerASN: 64500
  peerAddress: 192.168.77.254
  connectTime: 1s
  nodeSelectors: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node1, node3]}]}]
`+adv("to4", "{ipAddressPools: [extra], peers: [frr4]}"))
	ips = e.service(t, svc{name: "sel-peer", pool: poolExtra, ready: []string{"node2"}})
	e.waitKernel(t, "router", host(ips[0]), "node1", "node3")
	node2 := e.l.Node("node2").IPv4()
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := frrNeighbors(ctx, e.frr)
		return err == nil && ns[node2].State != "Established", err
	}, "node2 closed its IPv4 session (frr4 no longer selects it)")
}

// testNodeExclusion: the exclude-from-external-load-balancers label and
// the NetworkUnavailable condition each withdraw a node's routes, and
// undoing them brings the routes back.
func testNodeExclusion(t *testing.T, e *env) {
	e.apply(t, adv("main", "{ipAddressPools: [main]}"))
	ip := e.service(t, svc{name: "excl", ready: e.l.NodeNames()})[0]
	e.waitKernel(t, "router", host(ip), "node1", "node2", "node3")

	yes := ""
	e.label(t, "node3", v1beta1.LabelExcludeFromLB, &yes)
	e.waitKernel(t, "router", host(ip), "node1", "node2")
	e.label(t, "node3", v1beta1.LabelExcludeFromLB, nil)
	e.waitKernel(t, "router", host(ip), "node1", "node2", "node3")

	e.networkUnavailable(t, "node2", corev1.ConditionTrue)
	e.waitKernel(t, "router", host(ip), "node1", "node3")
	e.networkUnavailable(t, "node2", corev1.ConditionFalse)
	e.waitKernel(t, "router", host(ip), "node1", "node2", "node3")
}

// label sets (or with nil removes) a node label, and removes it when t
// ends.
func (e *env) label(t testing.TB, node, key string, value *string) {
	t.Helper()
	if err := e.l.Admin.LabelNode(ctx(t), node, key, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.l.Admin.LabelNode(context.Background(), node, key, nil); err != nil {
			t.Error(err)
		}
	})
}

// networkUnavailable sets a node's NetworkUnavailable condition and
// clears it when t ends.
func (e *env) networkUnavailable(t testing.TB, node string, status corev1.ConditionStatus) {
	t.Helper()
	if err := e.l.Admin.SetNodeCondition(ctx(t), node, corev1.NodeNetworkUnavailable, status); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.l.Admin.SetNodeCondition(context.Background(), node, corev1.NodeNetworkUnavailable, corev1.ConditionFalse); err != nil {
			t.Error(err)
		}
	})
}
