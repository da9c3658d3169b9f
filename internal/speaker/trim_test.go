package speaker

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

// TestTrimKeepsWhatThePlanReads: the plan's view of a trimmed Service is
// the view of the full one.
func TestTrimKeepsWhatThePlanReads(t *testing.T) {
	ready, node := false, "n1"
	local := corev1.ServiceExternalTrafficPolicyLocal
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u", Labels: map[string]string{"a": "b"},
		Annotations: map[string]string{"big": "x"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: local, Selector: map[string]string{"app": "x"},
			Ports: []corev1.ServicePort{{Port: 80}}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "10.0.0.1"}}}}}
	es := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "e", Labels: map[string]string{discoveryv1.LabelServiceName: "s"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.1"}, NodeName: &node},
			{Addresses: []string{"10.244.0.2"}, NodeName: &node, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
	ts, _ := trimService(svc)
	tes, _ := trimEndpointSlice(&es)
	want := plan.ServiceFrom(svc, []*discoveryv1.EndpointSlice{&es})
	got := plan.ServiceFrom(ts.(*corev1.Service), []*discoveryv1.EndpointSlice{tes.(*discoveryv1.EndpointSlice)})
	if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
		t.Errorf("plan view changed by trimming (-want +got):\n%s", diff)
	}
	if trimmed := ts.(*corev1.Service); trimmed.Annotations != nil || trimmed.ManagedFields != nil || trimmed.Spec.Ports != nil {
		t.Errorf("trimmed Service keeps %+v", trimmed)
	}
	if !plan.Announceable(ts.(*corev1.Service), "") {
		t.Error("trimmed Service no longer announceable")
	}
}

// TestTrimNodeKeepsWhatThePlanReads: a trimmed Node gives the plan and the
// membership the same view as the full one.
func TestTrimNodeKeepsWhatThePlanReads(t *testing.T) {
	for i, netDown := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "u", Labels: map[string]string{"zone": "a"},
			Annotations: map[string]string{"big": "x"}},
			Spec: corev1.NodeSpec{Unschedulable: i == 0, PodCIDR: "10.244.1.0/24"},
			Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"},
					{Type: corev1.NodeInternalIP, Address: "192.168.77.11"}, {Type: corev1.NodeInternalIP, Address: "fd00:77::11"},
					{Type: corev1.NodeExternalIP, Address: "203.0.113.11"}},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()},
					{Type: corev1.NodeNetworkUnavailable, Status: netDown, LastHeartbeatTime: metav1.Now()}},
				Images: []corev1.ContainerImage{{Names: []string{"registry/image:tag"}, SizeBytes: 1}}}}
		obj, _ := trimNode(n)
		tn := obj.(*corev1.Node)
		if diff := cmp.Diff(plan.NodeFrom(n), plan.NodeFrom(tn)); diff != "" {
			t.Errorf("plan view changed by trimming (-want +got):\n%s", diff)
		}
		v4, v6 := nodeAddresses(n)
		tv4, tv6 := nodeAddresses(tn)
		if v4 != tv4 || v6 != tv6 || tn.UID != n.UID {
			t.Errorf("addresses %v %v, UID %q; want %v %v, %q", tv4, tv6, tn.UID, v4, v6, n.UID)
		}
		if plan.NodeFrom(tn).Cordoned != (i == 0) {
			t.Errorf("cordoned = %v, want %v", plan.NodeFrom(tn).Cordoned, i == 0)
		}
		if tn.Status.Images != nil || tn.Annotations != nil || len(tn.Status.Conditions) != 1 || len(tn.Status.Addresses) != 2 || tn.Spec.PodCIDR != "" {
			t.Errorf("trimmed Node keeps %+v", tn)
		}
	}
}

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
