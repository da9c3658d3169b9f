package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServiceFromCountsReadyEndpoints: ready endpoints are counted per
// node; a dual-stack pod, listed in both families' slices, counts once.
func TestServiceFromCountsReadyEndpoints(t *testing.T) {
	n1, n2, notReady := "n1", "n2", false
	ep := func(node *string, ready ...bool) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{NodeName: node}
		if len(ready) > 0 {
			e.Conditions.Ready = &ready[0]
		}
		return e
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec: corev1.ServiceSpec{ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal}}
	v4a := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{ep(&n1), ep(&n1), ep(&n2), ep(&n2, notReady)}}
	v4b := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{ep(&n1), ep(nil)}}
	v6 := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv6, Endpoints: []discoveryv1.Endpoint{ep(&n1), ep(&n2), ep(&n2)}}
	s := ServiceFrom(svc, []*discoveryv1.EndpointSlice{v4a, v4b, v6})
	if diff := cmp.Diff(map[string]int{"n1": 3, "n2": 2}, s.ReadyCount); diff != "" || !s.Local || !s.AnyReady {
		t.Errorf("ready counts (-want +got):\n%s\nlocal %v anyReady %v", diff, s.Local, s.AnyReady)
	}
	if diff := cmp.Diff([]string{"n1", "n2"}, s.ReadyNodes); diff != "" {
		t.Errorf("ready nodes (-want +got):\n%s", diff)
	}
}
