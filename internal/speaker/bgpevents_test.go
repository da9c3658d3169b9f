package speaker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/speaker"
)

// serviceEvents returns the notes of a Service's events with reason.
func (h *harness) serviceEvents(name, reason string) ([]string, error) {
	var evs eventsv1.EventList
	if err := h.c.List(context.Background(), &evs, client.InNamespace(h.app)); err != nil {
		return nil, err
	}
	var notes []string
	for _, e := range evs.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes, nil
}

// TestBGPOneEventPerService: one speaker reports, in one event, every node
// announcing a Service and where; and, once no node announces it, that it
// is withdrawn. Not one event per node.
func TestBGPOneEventPerService(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.52.0.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}})
	h.service("web", false, []string{"10.52.0.5"}, "a")
	eventually(t, func() (bool, string) {
		notes, err := h.serviceEvents("web", speaker.ReasonBGPAnnounced)
		if err != nil || len(notes) != 1 {
			return false, fmt.Sprintf("BGPAnnounced events %q, %v", notes, err)
		}
		for _, s := range []string{h.nodeName("a"), h.nodeName("b"), h.nodeName("c"), "10.52.0.5/32 to frr"} {
			if !strings.Contains(notes[0], s) {
				return false, fmt.Sprintf("event %q does not mention %s", notes[0], s)
			}
		}
		return true, ""
	})
	h.endpoints("web", true)
	eventually(t, func() (bool, string) {
		notes, err := h.serviceEvents("web", speaker.ReasonBGPWithdrawn)
		want := []string{"No node announces 10.52.0.5/32 any more"}
		return err == nil && fmt.Sprint(notes) == fmt.Sprint(want), fmt.Sprintf("BGPWithdrawn events %q, want %q (%v)", notes, want, err)
	})
	if notes, err := h.serviceEvents("web", speaker.ReasonBGPAnnounced); err != nil || len(notes) != 1 {
		t.Errorf("BGPAnnounced events %q (%v), want one", notes, err)
	}
}
