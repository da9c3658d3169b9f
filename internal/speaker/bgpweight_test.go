package speaker_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/speaker"
)

// TestBGPWeightByEndpoints: with weightByEndpoints, each node's path of a
// Local Service carries its ready endpoints as weight; new counts replace
// the paths (announcements) and nothing is withdrawn.
func TestBGPWeightByEndpoints(t *testing.T) {
	h := newHarness(t, "a", "b")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.52.0.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.BGPAdvertisementSpec{WeightByEndpoints: true}})
	h.service("local", true, []string{"10.52.0.1"}, "a", "b", "b")
	h.service("cluster", false, []string{"10.52.0.2"}, "a", "b", "b")
	weights := func(want map[string]uint32) {
		t.Helper()
		for short, w := range want {
			eventually(t, func() (bool, string) {
				got := map[string]bgp.Path{}
				for _, p := range h.nodes[short].router.Paths() {
					got[p.Prefix.String()] = p
				}
				l, c := got["10.52.0.1/32"], got["10.52.0.2/32"]
				ok := l.Weight == w && l.WeightAS == 64512 && c.Prefix.IsValid() && c.Weight == 0
				return ok, fmt.Sprintf("%s: Local path %+v, Cluster path %+v; want weight %d on the Local one only", short, l, c, w)
			})
		}
	}
	weights(map[string]uint32{"a": 1, "b": 2})
	h.endpoints("local", true, "a", "a", "a", "b")
	weights(map[string]uint32{"a": 3, "b": 1})
	for _, short := range []string{"a", "b"} {
		if n := withdrawals(t, h.nodes[short].registry); n != 0 {
			t.Errorf("%s withdrew %v paths", short, n)
		}
	}
}

// withdrawals reads pylon_bgp_path_updates_total{op="withdraw"}.
func withdrawals(t *testing.T, g prometheus.Gatherer) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pylon_bgp_path_updates_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == "withdraw" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestBGPWeightConflict: two advertisements of a prefix, one weighting and
// one not, give an unweighted path and a warning on the Service.
func TestBGPWeightConflict(t *testing.T) {
	h := newHarness(t, "a")
	peer := bgpConfig()[0]
	h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.53.0.0/24"}}},
		&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "weighted"}, Spec: v1beta1.BGPAdvertisementSpec{WeightByEndpoints: true}},
		&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "plain"}})
	h.service("local", true, []string{"10.53.0.1"}, "a", "a")
	eventually(t, func() (bool, string) {
		notes, err := h.serviceEvents("local", speaker.ReasonBGPWeightConf)
		ok := err == nil && len(notes) == 1 && strings.Contains(notes[0], "plain, weighted") && strings.Contains(notes[0], "10.53.0.1/32")
		return ok, fmt.Sprintf("BGPWeightConflict events %q, %v", notes, err)
	})
	if ps := h.nodes["a"].router.Paths(); len(ps) != 1 || ps[0].Weight != 0 {
		t.Errorf("paths %+v, want one unweighted despite the conflict", ps)
	}
}
