package speaker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/speaker"
	"github.com/pylonlb/pylon/internal/speaker/speakertest"
)

// TestL2SubnetAwareElection: a and b are on the main segment (b without
// IPv6), c on a second segment only. Each address goes to a node on its
// subnet, answered on that interface; an address on no node's subnet goes
// to any node of its family, with one Warning event and its status saying
// so.
func TestL2SubnetAwareElection(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.nodes["a"].announcer.SetInterfaceList(speakertest.Interface("eth0", "192.168.77.0/24", "fd00:77::/64"))
	h.nodes["b"].announcer.SetInterfaceList(speakertest.Interface("eth0", "192.168.77.0/24"))
	h.nodes["c"].announcer.SetInterfaceList(speakertest.Interface("eth0", "10.1.0.0/16"), speakertest.Interface("eth1", "192.168.88.0/24"))
	h.apply(l2Pool("l2", "192.168.77.140/30", "192.168.88.140/30", "10.9.9.0/30", "fd00:77::140/126"),
		&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("main", false, []string{"192.168.77.141"}, "a", "b", "c")
	h.service("seg2", false, []string{"192.168.88.141"}, "a", "b", "c")
	h.service("v6", false, []string{"fd00:77::141"}, "a", "b", "c")
	h.service("off", false, []string{"10.9.9.1"}, "a", "b", "c")

	h.waitOwner("192.168.77.141", h.winner("192.168.77.141", "a", "b"))
	h.waitOwner("192.168.88.141", "c")
	h.waitOwner("fd00:77::141", "a")
	offOwner := h.winner("10.9.9.1", "a", "b", "c")
	h.waitOwner("10.9.9.1", offOwner)
	if got := h.nodes["c"].announcer.Announced()[addr("192.168.88.141")]; !slices.Equal(got, []string{"eth1"}) {
		t.Errorf("c answers 192.168.88.141 on %v, want [eth1]", got)
	}
	if got := h.nodes[offOwner].announcer.Announced()[addr("10.9.9.1")]; got != nil {
		t.Errorf("%s answers 10.9.9.1 on %v, want every usable interface", offOwner, got)
	}

	st := &v1beta1.ServiceL2Status{}
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "off"}, st)
		return err == nil && slices.Equal(st.Status.OffSubnetIPs, []string{"10.9.9.1"}),
			fmt.Sprintf("ServiceL2Status = %+v, %v; want offSubnetIPs [10.9.9.1]", st.Status, err)
	})
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "seg2"}, st)
		return err == nil && st.Status.OffSubnetIPs == nil && slices.Equal(st.Status.Interfaces, []string{"eth1"}),
			fmt.Sprintf("ServiceL2Status = %+v, %v; want interfaces [eth1] and no offSubnetIPs", st.Status, err)
	})
	want := map[string]string{"off": "10.9.9.1 on no subnet of any eligible node: node " + h.nodeName(offOwner) +
		" answers on every allowed interface of the family, which clients reach only if the network routes or proxies the address there"}
	offEvents := func() (map[string]string, int) {
		var evs eventsv1.EventList
		if err := h.c.List(context.Background(), &evs, client.InNamespace(h.app)); err != nil {
			t.Fatal(err)
		}
		got, n := map[string]string{}, 0
		for _, e := range evs.Items {
			if e.Reason == speaker.ReasonL2OffSubnet {
				got[e.Regarding.Name] = e.Note
				n++
				if e.Series != nil {
					n += int(e.Series.Count) - 1
				}
			}
		}
		return got, n
	}
	eventually(t, func() (bool, string) {
		got, _ := offEvents()
		return cmp.Equal(want, got), fmt.Sprintf("L2OffSubnet events (-want +got):\n%s", cmp.Diff(want, got))
	})

	// b gains IPv6 on the main segment and a second interface: every
	// speaker recomputes every address; the off-subnet Service is not
	// reported again.
	h.nodes["b"].announcer.SetInterfaceList(speakertest.Interface("eth0", "192.168.77.0/24", "fd00:77::/64"),
		speakertest.Interface("eth2", "172.16.0.0/24"))
	h.waitOwner("fd00:77::141", h.winner("fd00:77::141", "a", "b"))
	h.service("later", false, []string{"10.9.9.2"}, "a", "b", "c")
	want["later"] = "10.9.9.2 on no subnet of any eligible node: node " + h.nodeName(h.winner("10.9.9.2", "a", "b", "c")) +
		" answers on every allowed interface of the family, which clients reach only if the network routes or proxies the address there"
	eventually(t, func() (bool, string) {
		got, _ := offEvents()
		return cmp.Equal(want, got), fmt.Sprintf("L2OffSubnet events (-want +got):\n%s", cmp.Diff(want, got))
	})
	if _, n := offEvents(); n != 2 {
		t.Errorf("%d L2OffSubnet events, want one per Service", n)
	}
}
