package speaker_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	// Every node peers, announcing or not (c announces nothing: its session
	// may come up after a and b announced). The IPv4 session carries IPv4
	// prefixes only.
	for _, short := range []string{"a", "b", "c"} {
		eventually(t, func() (bool, string) {
			peers := h.nodes[short].router.Peers()
			ok := len(peers) == 1 && peers[0].Name == "frr" && !peers[0].IPv6NextHop.IsValid()
			return ok, fmt.Sprintf("%s sessions = %+v", short, peers)
		})
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

// TestBGPCordonedNodeWithdraws: a cordoned node withdraws what other
// nodes announce (and keeps a Local Service only it can serve), and
// announces again once uncordoned.
func TestBGPCordonedNodeWithdraws(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.50.1.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}})
	h.service("cluster", false, []string{"10.50.1.1"}, "a", "b", "c")
	h.service("local", true, []string{"10.50.1.2"}, "b")
	want := func(prefix string, nodes ...string) {
		eventually(t, func() (bool, string) {
			got := h.bgpAnnouncers(prefix)
			return slices.Equal(got, nodes), fmt.Sprintf("%s from %v, want %v", prefix, got, nodes)
		})
	}
	want("10.50.1.1/32", "a", "b", "c")
	want("10.50.1.2/32", "b")
	h.setUnschedulable("b", true)
	want("10.50.1.1/32", "a", "c")
	want("10.50.1.2/32", "b")
	h.setUnschedulable("b", false)
	want("10.50.1.1/32", "a", "b", "c")
}

func TestBGPStatusPerNode(t *testing.T) {
	h := newHarness(t, "a", "b")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.51.0.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}})
	h.service("web", false, []string{"10.51.0.9"}, "a")
	for _, short := range []string{"a", "b"} {
		st := &v1beta1.ServiceBGPStatus{}
		eventually(t, func() (bool, string) {
			err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: h.nodeName(short)}, st)
			ok := err == nil && st.Status.PrefixCount == 1 && st.Status.SessionsEstablished == 1 &&
				len(st.Status.Services) == 1 && st.Status.Services[0].Service == h.app+"/web" &&
				slices.Equal(st.Status.Services[0].Prefixes, []string{"10.51.0.9/32"}) &&
				st.Status.Services[0].Since != nil && !st.Status.Services[0].Since.After(time.Now())
			return ok, fmt.Sprintf("%s: ServiceBGPStatus = %+v, %v", short, st.Status, err)
		})
		want := `
# HELP pylon_bgp_session_up 1 when the BGP session to the peer is Established.
# TYPE pylon_bgp_session_up gauge
pylon_bgp_session_up{peer="frr"} 1
# HELP pylon_bgp_prefixes_announced Prefixes this node announces over BGP.
# TYPE pylon_bgp_prefixes_announced gauge
pylon_bgp_prefixes_announced 1
`
		if err := testutil.GatherAndCompare(h.nodes[short].registry, strings.NewReader(want),
			"pylon_bgp_session_up", "pylon_bgp_prefixes_announced"); err != nil {
			t.Errorf("%s metrics: %v", short, err)
		}
	}
}
