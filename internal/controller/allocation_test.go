package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/testenv"
)

func TestAllocatesAndWritesStatus(t *testing.T) {
	h := newHarness(t, "")
	h.pool("main", spec("192.168.20.0/30"))
	h.service("web")
	ips := h.waitIPs("web", 1)
	if ips[0] != "192.168.20.0" {
		t.Errorf("address = %s, want the pool's first 192.168.20.0", ips[0])
	}
	s := &corev1.Service{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, s); err != nil {
		t.Fatal(err)
	}
	if m := s.Status.LoadBalancer.Ingress[0].IPMode; m == nil || *m != corev1.LoadBalancerIPModeVIP {
		t.Errorf("ipMode = %v, want VIP", m)
	}
	eventually(t, func() (bool, string) {
		_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, s)
		return s.Annotations[v1beta1.AnnotationAllocatedFromPool] == "main", "pool annotation missing"
	})
	h.waitEvent(h.app, "web", allocation.ReasonIPAllocated, `Assigned 192.168.20.0 from pool "main"`)
}

func TestExhaustionAndRelease(t *testing.T) {
	h := newHarness(t, "")
	h.pool("one", spec("192.168.21.7/32"))
	h.service("a")
	h.waitIPs("a", 1)
	h.service("b")
	h.waitEvent(h.app, "b", allocation.ReasonAllocationFailed, `pool "one" has no free IPv4 address`)
	if got := h.ips(h.app, "b"); len(got) != 0 {
		t.Fatalf("b got %v from an exhausted pool", got)
	}
	a := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: h.app, Name: "a"}}
	if err := h.c.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got := h.waitIPs("b", 1); got[0] != "192.168.21.7" {
		t.Errorf("b = %v, want the freed 192.168.21.7", got)
	}
}

func TestTypeChangeReleases(t *testing.T) {
	h := newHarness(t, "")
	h.pool("one", spec("192.168.22.1/32"))
	s := h.service("a")
	h.waitIPs("a", 1)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		_ = h.c.Get(context.Background(), client.ObjectKeyFromObject(s), s)
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.Ports[0].NodePort = 0
		return h.c.Update(context.Background(), s)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.waitIPs("a", 0)
	h.service("b")
	h.waitIPs("b", 1)
}

func TestSharing(t *testing.T) {
	h := newHarness(t, "")
	h.pool("shared", spec("192.168.23.0/29"))
	share := annotate(v1beta1.AnnotationAllowSharedIP, "key1")
	h.service("http", share, withPorts(corev1.ProtocolTCP, 80))
	h.service("dns", share, withPorts(corev1.ProtocolUDP, 53))
	h.service("dns-tcp", share, withPorts(corev1.ProtocolTCP, 53))
	a, b, c := h.waitIPs("http", 1), h.waitIPs("dns", 1), h.waitIPs("dns-tcp", 1)
	if a[0] != b[0] || b[0] != c[0] {
		t.Errorf("sharing services got %v %v %v, want one address", a, b, c)
	}
	// Same port and protocol as "http": must not share.
	h.service("http2", share, withPorts(corev1.ProtocolTCP, 80))
	if d := h.waitIPs("http2", 1); d[0] == a[0] {
		t.Errorf("overlapping port shares %s", d[0])
	}
	// Asking for the shared address with another key is refused.
	h.service("intruder", annotate(v1beta1.AnnotationLoadBalancerIPs, a[0]), withPorts(corev1.ProtocolTCP, 8080))
	h.waitEvent(h.app, "intruder", allocation.ReasonAllocationFailed, a[0])
}

func TestDualStack(t *testing.T) {
	h := newHarness(t, "")
	h.pool("v4only", spec("192.168.24.0/30"))
	h.pool("dual", spec("192.168.25.0/30", "fd00:25::/126"))
	h.service("require", dualStack(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	h.service("v6first", dualStack(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv6Protocol, corev1.IPv4Protocol))
	h.service("v6", dualStack(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol))
	inDual := func(ip string) bool {
		return strings.HasPrefix(ip, "192.168.25.") || strings.HasPrefix(ip, "fd00:25::")
	}
	isV6 := func(ip string) bool { return strings.Contains(ip, ":") }
	req, v6first, v6 := h.waitIPs("require", 2), h.waitIPs("v6first", 2), h.waitIPs("v6", 1)
	if isV6(req[0]) || !isV6(req[1]) || !inDual(req[0]) || !inDual(req[1]) {
		t.Errorf("RequireDualStack = %v, want IPv4 then IPv6 from the dual pool", req)
	}
	if !isV6(v6first[0]) || isV6(v6first[1]) || !inDual(v6first[0]) || !inDual(v6first[1]) {
		t.Errorf("IPv6-first dual stack = %v, want IPv6 then IPv4 from the dual pool", v6first)
	}
	if !isV6(v6[0]) || !inDual(v6[0]) {
		t.Errorf("IPv6 single stack = %v", v6)
	}
	all := append(append(slices.Clone(req), v6first...), v6...)
	if len(slices.Compact(sorted(all))) != 5 {
		t.Errorf("addresses handed out twice: %v", all)
	}
}

func TestRequestedAddressesAndPools(t *testing.T) {
	h := newHarness(t, "")
	h.pool("a", spec("192.168.26.0/28"))
	h.pool("b", v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.27.0/28", "fd00:27::/124"}, AutoAssign: ptr(false)})
	h.service("annot", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.27.5, fd00:27::5"),
		dualStack(corev1.IPFamilyPolicyPreferDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	h.service("spec", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.168.26.9" })
	h.service("bypool", annotate(v1beta1.AnnotationAddressPool, "b"))
	h.service("auto")
	want := map[string][]string{
		"annot": {"192.168.27.5", "fd00:27::5"}, "spec": {"192.168.26.9"}, "bypool": {"192.168.27.0"}, "auto": {"192.168.26.0"},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, h.waitIPs(name, len(w))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestBadServiceInput(t *testing.T) {
	h := newHarness(t, "")
	h.pool("a", spec("192.168.28.0/28"))
	cases := []struct {
		name string
		opt  svcOpt
		note string
	}{
		{"malformed", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.28.300"), `"192.168.28.300" is not an IP address`},
		{"two-v4", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.28.1,192.168.28.2"), "at most one address per family"},
		{"wrong-family", annotate(v1beta1.AnnotationLoadBalancerIPs, "fd00:28::1"), "fd00:28::1"},
		{"outside", annotate(v1beta1.AnnotationLoadBalancerIPs, "10.99.0.1"), "10.99.0.1"},
		{"unknown-pool", annotate(v1beta1.AnnotationAddressPool, "nope"), `"nope"`},
		{"both", func(s *corev1.Service) {
			s.Spec.LoadBalancerIP = "192.168.28.3"
			annotate(v1beta1.AnnotationLoadBalancerIPs, "192.168.28.4")(s)
		}, "not both"},
	}
	for _, c := range cases {
		h.service(c.name, c.opt)
	}
	h.service("good")
	h.waitIPs("good", 1)
	for _, c := range cases {
		h.waitEvent(h.app, c.name, allocation.ReasonAllocationFailed, c.note)
		if got := h.ips(h.app, c.name); len(got) != 0 {
			t.Errorf("%s got %v despite bad input", c.name, got)
		}
	}
}

func TestClassFiltering(t *testing.T) {
	h := newHarness(t, "pylon-test-class")
	h.pool("a", spec("192.168.29.0/28"))
	h.service("mine")
	h.service("other", func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr("someone-else") })
	h.service("none", func(s *corev1.Service) { s.Spec.LoadBalancerClass = nil })
	h.waitIPs("mine", 1)
	stays(t, 300*time.Millisecond, func() (bool, string) {
		return len(h.ips(h.app, "other"))+len(h.ips(h.app, "none")) == 0, "a Service of another class got an address"
	})
}

func TestServiceAllocationSelectsPools(t *testing.T) {
	h := newHarness(t, "")
	h.pool("general", spec("192.168.30.0/28"))
	h.pool("blue-low", v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.31.0/28"},
		ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 20, NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "blue"}}}}})
	h.pool("blue-high", v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.32.0/28"},
		ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 10, NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "blue"}}}}})
	h.pool("db", v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.33.0/28"},
		ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 1, ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "db"}}}}})
	other := testenv.Namespace(t, env, "red", map[string]string{"team": "red"})
	t.Cleanup(func() { deleteServicesIn(h, other) })
	h.service("blue-web")
	h.service("blue-db", withLabels("tier", "db"))
	h.service("red-web", inNamespace(other))
	if got := h.waitIPs("blue-web", 1); got[0] != "192.168.32.0" {
		t.Errorf("blue-web = %v, want the priority-10 pool", got)
	}
	if got := h.waitIPs("blue-db", 1); got[0] != "192.168.33.0" {
		t.Errorf("blue-db = %v, want the db pool", got)
	}
	eventually(t, func() (bool, string) {
		got := h.ips(other, "red-web")
		return len(got) == 1 && got[0] == "192.168.30.0", "red-web should come from the general pool"
	})
}

func deleteServicesIn(h *harness, ns string) {
	var list corev1.ServiceList
	_ = h.c.List(context.Background(), &list, client.InNamespace(ns))
	for i := range list.Items {
		_ = h.c.Delete(context.Background(), &list.Items[i])
	}
}
