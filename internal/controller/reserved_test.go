package controller_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller/allocation"
)

// node creates a Node with InternalIP and, optionally, ExternalIP
// addresses, and deletes it when the test ends (Nodes are cluster-wide).
func (h *harness) node(name string, internal string, external ...string) *corev1.Node {
	h.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := h.c.Create(context.Background(), n); err != nil {
		h.t.Fatalf("create Node %s: %v", name, err)
	}
	h.t.Cleanup(func() { _ = h.c.Delete(context.Background(), n) })
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: internal}}
	for _, e := range external {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: e})
	}
	if err := h.c.Status().Update(context.Background(), n); err != nil {
		h.t.Fatalf("set the addresses of Node %s: %v", name, err)
	}
	return n
}

// waitCondition waits for the controller's ConfigurationState condition
// to have status and a message containing every text.
func (h *harness) waitCondition(typ string, status metav1.ConditionStatus, texts ...string) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		state := &v1beta1.ConfigurationState{}
		_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "controller"}, state)
		for _, c := range state.Status.Conditions {
			if c.Type != typ {
				continue
			}
			ok := c.Status == status
			for _, t := range texts {
				ok = ok && strings.Contains(c.Message, t)
			}
			return ok, fmt.Sprintf("condition %s = %s %q, want %s with %q", typ, c.Status, c.Message, status, texts)
		}
		return false, fmt.Sprintf("no condition %s in %+v", typ, state.Status.Conditions)
	})
}

// waitReservedMetric waits for pylon_pool_addresses_reserved{pool, reason}
// to be want (0: absent).
func (h *harness) waitReservedMetric(pool, reason string, want float64) {
	h.t.Helper()
	h.waitGauge("pylon_pool_addresses_reserved", map[string]string{"pool": pool, "reason": reason}, want)
}

// waitGauge waits for the gauge with these labels to be want (0: absent).
func (h *harness) waitGauge(name string, want map[string]string, value float64) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		mfs, err := h.reg.Gather()
		if err != nil {
			return false, err.Error()
		}
		got := 0.0
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if maps.Equal(labels, want) {
					got = m.GetGauge().GetValue()
				}
			}
		}
		return got == value, fmt.Sprintf("%s%v = %v, want %v", name, want, got, value)
	})
}

// deleteService deletes a Service of the app namespace.
func (h *harness) deleteService(name string) {
	h.t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: h.app, Name: name}}
	if err := h.c.Delete(context.Background(), s); err != nil {
		h.t.Fatal(err)
	}
}

func TestNodeAddressInPoolIsNeverHandedOut(t *testing.T) {
	h := newHarness(t, "")
	n := h.node("rsv-node-a", "192.168.70.1")
	h.pool("lan", spec("192.168.70.1-192.168.70.2"))
	h.service("auto")
	if got := h.waitIPs("auto", 1); got[0] != "192.168.70.2" {
		t.Fatalf("auto = %v, want 192.168.70.2: the pool's first address is the Node's", got)
	}
	h.service("named", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.70.1"))
	h.waitEvent(h.app, "named", allocation.ReasonAllocationFailed,
		`requested IP 192.168.70.1 of pool "lan" is reserved: InternalIP of Node "rsv-node-a"`)
	h.service("third")
	h.waitEvent(h.app, "third", allocation.ReasonAllocationFailed, `pool "lan" has no free IPv4 address`)
	h.waitEvent(h.ns, "lan", allocation.ReasonAddressesReserved, `192.168.70.1 (InternalIP of Node "rsv-node-a")`)
	h.waitCondition(allocation.ConditionAddressesReserved, metav1.ConditionTrue,
		`pool "lan": 192.168.70.1 (InternalIP of Node "rsv-node-a")`)
	h.waitCondition(allocation.ConditionReservedAddressesInUse, metav1.ConditionFalse)
	h.waitReservedMetric("lan", "node", 1)
	for _, name := range []string{"named", "third"} {
		if got := h.ips(h.app, name); len(got) != 0 {
			t.Fatalf("%s got %v", name, got)
		}
	}

	// The Node goes: its address is free again, and the Service that
	// asked for it by name gets it (with no other Service waiting for
	// any address, which could take it first).
	h.deleteService("third")
	if err := h.c.Delete(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	h.waitCondition(allocation.ConditionAddressesReserved, metav1.ConditionFalse)
	h.waitReservedMetric("lan", "node", 0)
	if got := h.waitIPs("named", 1); got[0] != "192.168.70.1" {
		t.Errorf("named = %v after the Node left, want 192.168.70.1", got)
	}
}

func TestBGPPeerAddressInPool(t *testing.T) {
	h := newHarness(t, "")
	peer := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: h.ns},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.168.71.1", SourceAddress: "192.168.71.3"}}
	if err := h.c.Create(context.Background(), peer); err != nil {
		t.Fatal(err)
	}
	h.pool("edge", spec("192.168.71.1-192.168.71.3"))
	h.service("auto")
	if got := h.waitIPs("auto", 1); got[0] != "192.168.71.2" {
		t.Fatalf("auto = %v, want 192.168.71.2, the one address that is not the BGPPeer's", got)
	}
	h.service("named", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.71.3"))
	h.waitEvent(h.app, "named", allocation.ReasonAllocationFailed,
		`requested IP 192.168.71.3 of pool "edge" is reserved: sourceAddress of BGPPeer "router"`)
	h.waitReservedMetric("edge", "bgp_peer", 2)
	h.waitCondition(allocation.ConditionAddressesReserved, metav1.ConditionTrue,
		`192.168.71.1 (peerAddress of BGPPeer "router")`, `192.168.71.3 (sourceAddress of BGPPeer "router")`)
}

func TestSubnetBroadcastInPool(t *testing.T) {
	h := newHarness(t, "")
	h.node("rsv-node-s", "192.168.72.10")
	h.pool("top", spec("192.168.72.252/30"))
	for _, name := range []string{"a", "b", "c"} {
		h.service(name)
	}
	got := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		got[h.waitIPs(name, 1)[0]] = true
	}
	if got["192.168.72.255"] || len(got) != 3 {
		t.Fatalf("addresses %v: want .252-.254, never the broadcast address .255", got)
	}
	h.service("d")
	h.waitEvent(h.app, "d", allocation.ReasonAllocationFailed, `pool "top" has no free IPv4 address`)
	h.service("named", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.72.255"))
	h.waitEvent(h.app, "named", allocation.ReasonAllocationFailed,
		`is reserved: broadcast address of 192.168.72.0/24, the smallest subnet holding both the pool's range `+
			`192.168.72.252-192.168.72.255 and Node "rsv-node-s"'s address 192.168.72.10`)
	h.waitReservedMetric("top", "subnet", 1)
}

// TestPublishedSubnetEnds: once a node's speaker publishes its subnets in
// its ConfigurationState, the network and broadcast addresses of those
// subnets are reserved exactly, even where inferring from the node's
// address could not find them (the pool neither starts nor ends there).
func TestPublishedSubnetEnds(t *testing.T) {
	h := newHarness(t, "")
	h.node("rsv-node-p", "192.168.74.5")
	h.pool("mid", spec("192.168.74.16-192.168.74.40"))
	h.service("named", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.74.31"))
	if got := h.waitIPs("named", 1); got[0] != "192.168.74.31" {
		t.Fatalf("named = %v before any subnet is published", got)
	}
	st := &v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Name: "speaker-rsv-node-p", Namespace: h.ns},
		Status: v1beta1.ConfigurationStateStatus{Component: "speaker", Node: "rsv-node-p",
			Interfaces: []v1beta1.SpeakerInterface{{Name: "eth0", IPv4: true, Subnets: []string{"192.168.74.0/27", "192.168.74.32/27"}}}}}
	if err := h.c.Create(context.Background(), st); err != nil { // no status subresource: the speakers apply it whole
		t.Fatal(err)
	}
	h.waitEvent(h.app, "named", allocation.ReasonReservedAddressHeld,
		`holds 192.168.74.31, which is reserved (broadcast address of subnet 192.168.74.0/27 of Node "rsv-node-p" (as its speaker publishes it)); it keeps the address`)
	h.service("asks", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.74.32"))
	h.waitEvent(h.app, "asks", allocation.ReasonAllocationFailed,
		`is reserved: network address of subnet 192.168.74.32/27 of Node "rsv-node-p"`)
}

// TestNodeAddedLaterKeepsHeldAddress: a Node whose addresses are in a pool
// joins after Services got them. The free one is reserved at once; the
// held one stays with its Service (across a restart too), loudly, until
// the Service gives it up.
func TestNodeAddedLaterKeepsHeldAddress(t *testing.T) {
	h := newHarness(t, "")
	h.pool("late", spec("192.168.73.1-192.168.73.6"))
	h.service("a")
	h.waitIPs("a", 1)
	h.service("b")
	if got := h.waitIPs("b", 1); got[0] != "192.168.73.2" {
		t.Fatalf("b = %v, want 192.168.73.2", got)
	}
	h.node("rsv-node-late", "192.168.73.2", "192.168.73.3")
	h.waitEvent(h.app, "b", allocation.ReasonReservedAddressHeld,
		`holds 192.168.73.2, which is reserved (InternalIP of Node "rsv-node-late"); it keeps the address`)
	h.waitEvent(h.ns, "late", allocation.ReasonAddressesReserved, `still held, and kept: 192.168.73.2 by `+h.app+`/b`)
	h.waitCondition(allocation.ConditionReservedAddressesInUse, metav1.ConditionTrue,
		`192.168.73.2 (InternalIP of Node "rsv-node-late") by `+h.app+`/b`)
	h.service("c")
	if got := h.waitIPs("c", 1); got[0] != "192.168.73.4" {
		t.Errorf("c = %v, want 192.168.73.4: .3 is the new Node's ExternalIP", got)
	}

	h.restart()
	h.service("probe")
	h.waitIPs("probe", 1)
	if got := h.ips(h.app, "b"); len(got) != 1 || got[0] != "192.168.73.2" {
		t.Fatalf("after a restart b = %v, want it to keep 192.168.73.2", got)
	}
	h.waitCondition(allocation.ConditionReservedAddressesInUse, metav1.ConditionTrue, h.app+`/b`)
	h.waitGauge("pylon_pool_reserved_addresses_held", map[string]string{"pool": "late"}, 1)

	h.deleteService("b")
	h.waitCondition(allocation.ConditionReservedAddressesInUse, metav1.ConditionFalse)
	h.waitGauge("pylon_pool_reserved_addresses_held", map[string]string{"pool": "late"}, 0)
	h.service("d")
	if got := h.waitIPs("d", 1); got[0] == "192.168.73.2" || got[0] == "192.168.73.3" {
		t.Errorf("d = %v, a reserved address", got)
	}
}
