package allocation

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/pylonlb/pylon/internal/model"
)

func TestNodeAddresses(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "n1"},
		{Type: corev1.NodeInternalIP, Address: "10.0.0.1"},
		{Type: corev1.NodeInternalIP, Address: "::ffff:10.0.0.2"},
		{Type: corev1.NodeInternalIP, Address: "not-an-ip"},
		{Type: corev1.NodeExternalIP, Address: "2001:db8::1"},
		{Type: corev1.NodeInternalDNS, Address: "10.0.0.9"},
	}}}
	got := nodeAddresses(n)
	want := model.NodeAddresses{Name: "n1",
		InternalIPs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		ExternalIPs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("nodeAddresses (-want +got):\n%s", d)
	}
	trimmed, _ := TrimNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "b"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"}, Status: n.Status})
	tn := trimmed.(*corev1.Node)
	if tn.Name != "n1" || tn.Labels != nil || tn.Spec.PodCIDR != "" || len(tn.Status.Addresses) != 6 {
		t.Errorf("TrimNode kept %+v", tn)
	}
}

func TestNodeAddressesChanged(t *testing.T) {
	p := nodeAddressesChanged()
	a := &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}}}
	same := a.DeepCopy()
	same.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady}}
	moved := a.DeepCopy()
	moved.Status.Addresses[0].Address = "10.0.0.2"
	if p.Update(event.UpdateEvent{ObjectOld: a, ObjectNew: same}) {
		t.Error("a status update that keeps the addresses passes")
	}
	if !p.Update(event.UpdateEvent{ObjectOld: a, ObjectNew: moved}) {
		t.Error("an address change is filtered out")
	}
	if !p.Create(event.CreateEvent{Object: a}) || !p.Delete(event.DeleteEvent{Object: a}) {
		t.Error("Node creation or deletion is filtered out")
	}
}

func res(addr, pool, reason string) model.Reservation {
	return model.Reservation{Addr: netip.MustParseAddr(addr), Pool: pool, Kind: model.ReservedNode, Reason: reason}
}

func TestReservedReports(t *testing.T) {
	none := reservedConditions(reservedView{})
	if none[0].Status != metav1.ConditionFalse || none[1].Status != metav1.ConditionFalse {
		t.Errorf("conditions without reservations = %+v", none)
	}
	a, b := res("10.0.0.1", "p", `InternalIP of Node "a"`), res("10.0.0.2", "p", `InternalIP of Node "b"`)
	v := reservedView{byPool: map[string][]model.Reservation{"p": {a, b}},
		held: []heldReserved{{Reservation: b, holders: []string{"ns/x", "ns/y"}}}}
	got := reservedConditions(v)
	want := []metav1.Condition{{Type: ConditionAddressesReserved, Status: metav1.ConditionTrue, Reason: "PoolsOverlapNetwork",
		Message: `these addresses are never handed out: pool "p": 10.0.0.1 (InternalIP of Node "a"); 10.0.0.2 (InternalIP of Node "b")`},
		{Type: ConditionReservedAddressesInUse, Status: metav1.ConditionTrue, Reason: "HeldByServices",
			Message: `Services keep reserved addresses they held before: 10.0.0.2 (InternalIP of Node "b") by ns/x, ns/y`}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("conditions (-want +got):\n%s", d)
	}
	note := poolNote(v.byPool["p"], v.held)
	wantNote := `2 address(es) of the pool are the network's own and are never handed out: ` +
		`10.0.0.1 (InternalIP of Node "a"); 10.0.0.2 (InternalIP of Node "b"); still held, and kept: 10.0.0.2 by ns/x, ns/y`
	if note != wantNote {
		t.Errorf("pool note = %q, want %q", note, wantNote)
	}
	var many []string
	for i := range maxListed + 2 {
		many = append(many, fmt.Sprint(i))
	}
	if got := listSome(many); got != "0; 1; 2; 3; 4; 5; 6; 7; 8; 9; and 2 more" {
		t.Errorf("listSome = %q", got)
	}
}
