package speaker_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func bgpConfig() []v1beta1.BGPPeer {
	return []v1beta1.BGPPeer{{ObjectMeta: metav1.ObjectMeta{Name: "frr"}, Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.168.77.1"}}}
}

func TestBGPAnnouncesFromEveryEligibleNode(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.50.0.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.BGPAdvertisementSpec{
			Communities: []string{"65000:7"}, NodeSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "short", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"c"}}}}}}})
	h.service("cluster", false, []string{"10.50.0.1"}, "c")
	h.service("local", true, []string{"10.50.0.2"}, "b", "c")
	eventually(t, func() (bool, string) {
		got := h.bgpAnnouncers("10.50.0.1/32")
		return slices.Equal(got, []string{"a", "b"}), fmt.Sprintf("10.50.0.1/32 from %v, want [a b]", got)
	})
	eventually(t, func() (bool, string) {
		got := h.bgpAnnouncers("10.50.0.2/32")
		return slices.Equal(got, []string{"b"}), fmt.Sprintf("10.50.0.2/32 from %v, want [b]", got)
	})
	for _, short := range []string{"a", "b", "c"} {
		peers := h.nodes[short].router.Peers()
		if len(peers) != 1 || peers[0].Name != "frr" || peers[0].IPv6NextHop != addr("fd00:77::"+map[string]string{"a": "11", "b": "12", "c": "13"}[short]) {
			t.Errorf("%s sessions = %+v", short, peers)
		}
	}
	for _, p := range h.nodes["a"].router.Paths() {
		if p.Prefix.String() == "10.50.0.1/32" && !slices.Equal(p.Communities, []uint32{65000<<16 | 7}) {
			t.Errorf("communities = %v", p.Communities)
		}
	}
	// Endpoints go away: every node withdraws.
	h.endpoints("cluster", false, "c")
	eventually(t, func() (bool, string) {
		got := h.bgpAnnouncers("10.50.0.1/32")
		return len(got) == 0, fmt.Sprintf("10.50.0.1/32 still from %v", got)
	})
}
