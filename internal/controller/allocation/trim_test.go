package allocation

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// TestTrimKeepsWhatAllocationReads: the request, the decision to serve and
// the pool annotation patch of a trimmed Service are those of the full one.
func TestTrimKeepsWhatAllocationReads(t *testing.T) {
	class, dual := "pylon", corev1.IPFamilyPolicyPreferDualStack
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{
				v1beta1.AnnotationAddressPool: "p", v1beta1.AnnotationAllowSharedIP: "k",
				v1beta1.AnnotationLoadBalancerIPs: "192.0.2.10,2001:db8::10", v1beta1.AnnotationAllocatedFromPool: "p",
				"metallb.io/address-pool": "m", "metallb.universe.tf/allow-shared-ip": "m",
				"kubectl.kubernetes.io/last-applied-configuration": `{"a":"long copy"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}, Finalizers: []string{"f"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			LoadBalancerClass: &class, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}, IPFamilyPolicy: &dual,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, Selector: map[string]string{"app": "web"},
			SessionAffinity: corev1.ServiceAffinityClientIP,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080},
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}}},
	}
	obj, err := TrimService(svc)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := obj.(*corev1.Service)
	nsLabels := map[string]string{"team": "a"}
	want, werr := requestFor(svc, nsLabels)
	got, gerr := requestFor(trimmed, nsLabels)
	if werr != nil || gerr != nil {
		t.Fatalf("requests: %v, %v", werr, gerr)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("request changed by trimming (-full +trimmed):\n%s", diff)
	}
	if wantsAddress(svc, class) != wantsAddress(trimmed, class) {
		t.Error("trimming changed whether the Service is served")
	}
	if !cmp.Equal(poolAnnotationPatch(svc, "q"), poolAnnotationPatch(trimmed, "q")) {
		t.Error("trimming changed the pool annotation patch")
	}
	if _, ok := trimmed.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok || trimmed.ManagedFields != nil ||
		trimmed.Finalizers != nil || trimmed.Spec.ClusterIPs != nil || trimmed.Spec.Ports[0].NodePort != 0 {
		t.Errorf("trimmed Service keeps what nobody reads: %+v", trimmed)
	}
	if !cmp.Equal(trimmed.Status, svc.Status) {
		t.Error("trimmed Service lost its load-balancer status")
	}

	// With externalTrafficPolicy Cluster the selector plays no part.
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	obj, _ = TrimService(svc)
	trimmed = obj.(*corev1.Service)
	want, _ = requestFor(svc, nsLabels)
	got, _ = requestFor(trimmed, nsLabels)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" || trimmed.Spec.Selector != nil {
		t.Errorf("Cluster policy: request changed by trimming (-full +trimmed):\n%s; selector kept: %v", diff, trimmed.Spec.Selector)
	}
}
