package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// fixture is a small cluster: pool "lan" (two addresses, L2), nodes n1
// and n2 with speakers, Services web (holding .1, endpoints everywhere)
// and late (created after web, pending).
func fixture() *snapshot {
	s := &snapshot{namespaces: map[string]map[string]string{"shop": nil}, slices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{}}
	s.objects = model.Objects{
		Pools: []v1beta1.IPAddressPool{{ObjectMeta: metav1.ObjectMeta{Name: "lan"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.0.2.1-192.0.2.2"}}}},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "lan"},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}}}},
	}
	for _, n := range []string{"n1", "n2"} {
		s.nodes = append(s.nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"rack": n}}})
		s.speaker = append(s.speaker, corev1.Pod{Spec: corev1.PodSpec{NodeName: n}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}})
	}
	svc := func(name string, age time.Duration, ips ...string) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(t0.Add(-age)),
			Annotations: map[string]string{}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.1",
				Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80}}}}
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
			s.Annotations[v1beta1.AnnotationAllocatedFromPool] = "lan"
		}
		return s
	}
	s.services = []corev1.Service{svc("web", time.Hour, "192.0.2.1"), svc("late", time.Minute)}
	ready, n1 := true, "n1"
	s.slices[types.NamespacedName{Namespace: "shop", Name: "web"}] = []*discoveryv1.EndpointSlice{{
		Endpoints: []discoveryv1.Endpoint{{NodeName: &n1, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}}
	s.l2 = []v1beta1.ServiceL2Status{{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Status: v1beta1.ServiceL2StatusStatus{ServiceName: "web", Node: "n1", IPs: []string{"192.0.2.1"}, Since: metav1.NewTime(t0.Add(-5 * time.Minute))}}}
	return s
}

func TestStatusTable(t *testing.T) {
	w := newWorld(fixture(), "", nil)
	var reports []ServiceReport
	for _, svc := range w.loadBalancers("") {
		reports = append(reports, w.report(svc))
	}
	var out bytes.Buffer
	o := &Options{Streams: Streams{Out: &out}, Now: func() time.Time { return t0 }}
	if err := printStatusTable(o, reports, true, false); err != nil {
		t.Fatal(err)
	}
	want := `NAMESPACE   NAME   ADDRESSES   POOL     MODE     ANNOUNCED BY   SINCE    PROBLEM
shop        late   <none>      <none>   <none>   <none>         <none>   allocate an IP for service shop/late: pool "lan" has no free IPv4 address: pool exhausted
shop        web    192.0.2.1   lan      L2       n1 (L2)        5m       -
`
	// The pool has a free address (192.0.2.2): late is pending only
	// because the controller has not run; the answer says so.
	want = strings.Replace(want, `allocate an IP for service shop/late: pool "lan" has no free IPv4 address: pool exhausted`,
		"no address yet: the controller has not handled it (is it running?)", 1)
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestDryRun(t *testing.T) {
	pool := func(name string, addrs ...string) client.Object {
		p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1beta1.IPAddressPoolSpec{Addresses: addrs}}
		p.Kind = "IPAddressPool"
		return p
	}
	l2 := func(sel string) client.Object {
		a := &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan"}, Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}}}
		if sel != "" {
			a.Spec.NodeSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": sel}}}
		}
		a.Kind = "L2Advertisement"
		return a
	}
	for _, tc := range []struct {
		name    string
		objs    []client.Object
		changes []string
		breaks  bool
		refused bool
	}{
		{"the same pool again: only the pending Service moves", []client.Object{pool("lan", "192.0.2.1-192.0.2.2")}, []string{"shop/late: gets 192.0.2.2"}, false, false},
		{"a bigger pool", []client.Object{pool("lan", "192.0.2.0/24")}, []string{"shop/late: gets 192.0.2.0"}, false, false},
		{"the held address leaves the pool", []client.Object{pool("lan", "192.0.2.2/32")},
			[]string{"shop/web: its address changes from 192.0.2.1 to 192.0.2.2"}, true, false},
		{"the pool is emptied of its addresses elsewhere", []client.Object{pool("lan", "198.51.100.1/32"), pool("other", "192.0.2.1/32")},
			[]string{"shop/late: gets 198.51.100.1", `shop/web: stops being announced in L2 (by n1): 192.0.2.1: no L2Advertisement covers pool "other" and selects the Service`}, true, false},
		{"the owner leaves the selection", []client.Object{l2("n2")}, []string{"shop/late: gets 192.0.2.2",
			"shop/web: its L2 owner moves from n1 to n2"}, false, false},
		{"no node is selected", []client.Object{l2("n3")}, []string{"shop/late: gets 192.0.2.2",
			"shop/web: stops being announced in L2 (by n1): 192.0.2.1: no node may announce it"}, true, false},
		{"an overlapping pool is refused", []client.Object{pool("dup", "192.0.2.2/32")}, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dryRun(fixture(), "", tc.objs)
			if (d.Refused != "") != tc.refused {
				t.Fatalf("refused %q, want refused %v", d.Refused, tc.refused)
			}
			var got []string
			for _, c := range d.Changes {
				got = append(got, c.Service+": "+c.What)
			}
			if diff := cmp.Diff(tc.changes, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if d.Breaks() != tc.breaks {
				t.Errorf("breaks = %v, want %v", d.Breaks(), tc.breaks)
			}
		})
	}
}
