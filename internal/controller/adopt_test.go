package controller_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/migrate"
	"github.com/pylonlb/pylon/internal/testenv"
)

// metallbPools is a MetalLB configuration: an L2 pool (dual-stack) and a
// BGP pool that is never picked automatically.
const metallbPools = `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: l2-pool, namespace: metallb-system}
spec:
  addresses: [10.70.0.0/24, "fd00:70::/120"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bgp-pool, namespace: metallb-system}
spec:
  addresses: [10.71.0.0/24]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [l2-pool]}
`

// metallbService is a Service as MetalLB leaves it: MetalLB's
// annotations, the pool annotation MetalLB wrote and the addresses in
// status.
type metallbService struct {
	name    string
	annots  map[string]string
	ips     []string
	ports   []int32
	proto   corev1.Protocol
	dual    bool
	pool    string // the pool the addresses came from
	warning string // expected Warning event text, if any
}

// TestAdoptMetalLBAddresses starts the controller on Services MetalLB
// served (with the Pylon pools `migrate metallb` gives for MetalLB's
// pools): every Service keeps its addresses, none is even transiently
// moved, and MetalLB's annotations keep their meaning.
func TestAdoptMetalLBAddresses(t *testing.T) {
	testenv.Require(t, env)
	h := &harness{t: t, c: env.Client, stop: func() {},
		ns:  testenv.Namespace(t, env, "pylon", nil),
		app: testenv.Namespace(t, env, "app", nil)}
	t.Cleanup(h.deleteServices)
	t.Cleanup(func() { h.stop() })
	ctx := context.Background()

	for _, obj := range migratedObjects(t, metallbPools, h.ns) {
		if err := h.c.Create(ctx, obj); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
	}
	const from = "metallb.io/ip-allocated-from-pool"
	svcs := []metallbService{
		{name: "l2-web", ips: []string{"10.70.0.7"}, pool: "l2-pool",
			annots: map[string]string{from: "l2-pool"}},
		{name: "bgp-api", ips: []string{"10.71.0.9"}, pool: "bgp-pool",
			annots: map[string]string{from: "bgp-pool", "metallb.universe.tf/address-pool": "bgp-pool"}},
		// Two Services sharing one address, on different ports.
		{name: "dns-tcp", ips: []string{"10.70.0.20"}, ports: []int32{53}, pool: "l2-pool",
			annots: map[string]string{from: "l2-pool", "metallb.io/allow-shared-ip": "dns"}},
		{name: "dns-udp", ips: []string{"10.70.0.20"}, ports: []int32{53}, proto: corev1.ProtocolUDP, pool: "l2-pool",
			annots: map[string]string{from: "l2-pool", "metallb.universe.tf/allow-shared-ip": "dns"}},
		{name: "dual", ips: []string{"10.70.0.30", "fd00:70::30"}, dual: true, pool: "l2-pool",
			annots: map[string]string{from: "l2-pool"}},
		{name: "requested", ips: []string{"10.71.0.40"}, pool: "bgp-pool",
			annots: map[string]string{from: "bgp-pool", "metallb.io/loadBalancerIPs": "10.71.0.40"}},
		{name: "requested-legacy", ips: []string{"10.70.0.41"}, pool: "l2-pool",
			annots: map[string]string{from: "l2-pool", "metallb.universe.tf/loadBalancerIPs": "10.70.0.41"}},
		// Pylon's annotation wins over MetalLB's, and says so.
		{name: "conflict", ips: []string{"10.70.0.50"}, pool: "l2-pool",
			annots:  map[string]string{from: "l2-pool", v1beta1.AnnotationAddressPool: "l2-pool", "metallb.io/address-pool": "bgp-pool"},
			warning: `pylonlb.io/address-pool="l2-pool" wins over metallb.io/address-pool="bgp-pool"`},
	}
	want := map[string][]string{}
	for _, ms := range svcs {
		h.metallbService(ms)
		want[ms.name] = ms.ips
	}

	h.start()
	// A new Service getting an address proves the controller restored
	// everything and works.
	h.service("probe")
	h.waitIPs("probe", 1)
	for _, ms := range svcs {
		h.waitPoolAnnotation(ms.name, ms.pool)
		if alias := aliasText(ms.annots); alias != "" {
			h.waitEvent(h.app, ms.name, allocation.ReasonMetalLBAnnotation, alias)
		}
		if ms.warning != "" {
			h.waitEvent(h.app, ms.name, allocation.ReasonConflictingAnnotations, ms.warning)
		}
	}
	got := map[string][]string{}
	for _, ms := range svcs {
		got[ms.name] = h.ips(h.app, ms.name)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("addresses changed (-MetalLB +Pylon):\n%s", d)
	}
	// Not even transiently: no allocation or release event on them.
	var events eventsv1.EventList
	if err := h.c.List(ctx, &events, client.InNamespace(h.app)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		moved := e.Reason == allocation.ReasonIPAllocated || e.Reason == allocation.ReasonIPReleased || e.Reason == allocation.ReasonAllocationFailed
		if moved && e.Regarding.Name != "probe" {
			t.Errorf("event %s on %s: %s", e.Reason, e.Regarding.Name, e.Note)
		}
	}
}

// migratedObjects runs the MetalLB configuration through migrate.
func migratedObjects(t *testing.T, text, ns string) []client.Object {
	t.Helper()
	objs, err := migrate.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := migrate.Convert(objs, migrate.Options{PylonNamespace: ns})
	if err != nil || res.Lossy() {
		t.Fatalf("convert: %v %v", err, res.Findings())
	}
	var out []client.Object
	for _, c := range res.Objects {
		out = append(out, c.Object)
	}
	return out
}

// aliasText is the part of the Normal event naming the first MetalLB
// annotation a Service uses, "" when it uses none.
func aliasText(annots map[string]string) string {
	for _, k := range []string{"loadBalancerIPs", "address-pool", "allow-shared-ip"} {
		if _, ok := annots[v1beta1.AnnotationPrefix+k]; ok {
			continue
		}
		for _, p := range []string{"metallb.io/", "metallb.universe.tf/"} {
			if _, ok := annots[p+k]; ok {
				return p + k + " as " + v1beta1.AnnotationPrefix + k
			}
		}
	}
	return ""
}

// metallbService creates a Service and writes its status as MetalLB does.
func (h *harness) metallbService(ms metallbService) {
	h.t.Helper()
	opts := []svcOpt{}
	for k, v := range ms.annots {
		opts = append(opts, annotate(k, v))
	}
	if ms.ports != nil {
		proto := ms.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		opts = append(opts, withPorts(proto, ms.ports...))
	}
	if ms.dual {
		opts = append(opts, dualStack(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	}
	s := h.service(ms.name, opts...)
	for _, ip := range ms.ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	if err := h.c.Status().Update(context.Background(), s); err != nil {
		h.t.Fatalf("write status of %s: %v", ms.name, err)
	}
}

// waitPoolAnnotation waits until the controller has annotated the
// Service with the pool.
func (h *harness) waitPoolAnnotation(name, pool string) {
	h.t.Helper()
	eventually(h.t, func() (bool, string) {
		s := &corev1.Service{}
		if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: name}, s); err != nil {
			return false, err.Error()
		}
		got := s.Annotations[v1beta1.AnnotationAllocatedFromPool]
		return got == pool, fmt.Sprintf("Service %s: %s = %q, want %q", name, v1beta1.AnnotationAllocatedFromPool, got, pool)
	})
}
