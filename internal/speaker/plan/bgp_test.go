package plan

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

func TestBGPAnnouncers(t *testing.T) {
	o := lab()
	o.BGPAdvertisements = append(o.BGPAdvertisements, v1beta1.BGPAdvertisement{ObjectMeta: meta("agg"), Spec: v1beta1.BGPAdvertisementSpec{
		IPAddressPools: []string{"bgp"}, AggregationLength: ptr[int32](24), Peers: []string{"bird"}, NodeSelectors: sel("rack", "a")}})
	cfg := mustConfig(t, o)
	all := []Node{
		{Name: "n3", Labels: map[string]string{"rack": "b"}},
		{Name: "n1", Labels: map[string]string{"rack": "a"}},
		{Name: "n2", Labels: map[string]string{"rack": "b"}, Excluded: true},
	}
	p := netip.MustParsePrefix
	cluster := svc("a/web", "10.50.0.7")
	local := cluster
	local.Local, local.ReadyNodes = true, []string{"n3"}
	none := cluster
	none.AnyReady, none.ReadyNodes = false, nil
	for _, c := range []struct {
		name string
		s    Service
		want BGPAnnouncement
	}{
		{"Cluster: every non-excluded node", cluster, BGPAnnouncement{Nodes: []string{"n1", "n3"},
			Prefixes: []netip.Prefix{p("10.50.0.0/24"), p("10.50.0.7/32")}, Peers: []string{"bird", "frr"}}},
		{"Local: the node with the endpoint", local, BGPAnnouncement{Nodes: []string{"n3"},
			Prefixes: []netip.Prefix{p("10.50.0.7/32")}, Peers: []string{"frr"}}},
		{"no ready endpoint", none, BGPAnnouncement{}},
		{"not in a BGP pool", svc("a/l2", "192.168.77.100"), BGPAnnouncement{}},
	} {
		got := BGPAnnouncers(cfg, all, &c.s)
		if d := cmp.Diff(c.want, got, cmpPrefix); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
		if got.Empty() != (len(c.want.Nodes) == 0) || !got.Equal(c.want) {
			t.Errorf("%s: Empty/Equal disagree with %+v", c.name, got)
		}
	}
}

// TestBGPRoutesWeightByEndpoints: a weighting advertisement gives a Local
// Service's route this node's ready endpoints as weight; Cluster Services
// and other advertisements stay unweighted.
func TestBGPRoutesWeightByEndpoints(t *testing.T) {
	o := lab()
	o.BGPAdvertisements[0].Spec.WeightByEndpoints = true
	cfg := mustConfig(t, o)
	n2 := Node{Name: "n2"}
	local := svc("a/web", "10.50.0.7")
	local.Local, local.ReadyNodes, local.ReadyCount = true, []string{"n2", "n3"}, map[string]int{"n2": 3, "n3": 1}
	cluster := svc("a/all", "10.50.0.8")
	cluster.ReadyCount = map[string]int{"n1": 1, "n2": 5}
	for _, c := range []struct {
		name string
		cfg  *model.Config
		s    Service
		want uint32
	}{
		{"Local, 3 endpoints here", cfg, local, 3},
		{"Cluster", cfg, cluster, 0},
		{"advertisement without weightByEndpoints", mustConfig(t, lab()), local, 0},
	} {
		routes, _ := BGPRoutes(c.cfg, n2, SessionPeers(c.cfg, n2), &c.s)
		if len(routes) != 1 || routes[0].Weight != c.want {
			t.Errorf("%s: routes %+v, want one with weight %d", c.name, routes, c.want)
			continue
		}
		if wantAS := map[bool]uint16{true: 64512, false: 0}[c.want != 0]; routes[0].WeightAS != wantAS {
			t.Errorf("%s: weight AS %d, want %d", c.name, routes[0].WeightAS, wantAS)
		}
	}
}

func TestWeightAS(t *testing.T) {
	sessions := []*model.Peer{{Name: "a", MyASN: 64512}, {Name: "b", MyASN: 64512}, {Name: "c", MyASN: 64600}, {Name: "big", MyASN: 4200000000}}
	for _, c := range []struct {
		peers []string
		want  uint16
	}{
		{[]string{"a", "b"}, 64512},
		{[]string{"a", "c"}, asTrans},
		{[]string{"big"}, asTrans},
		{nil, asTrans},
	} {
		if got := weightAS(c.peers, sessions); got != c.want {
			t.Errorf("weightAS(%v) = %d, want %d", c.peers, got, c.want)
		}
	}
}

// TestMergeWeights: weights add up over Services (one Service under two
// advertisements counts once); weighted and unweighted routes mixed give
// an unweighted path and a conflict.
func TestMergeWeights(t *testing.T) {
	pfx := netip.MustParsePrefix("10.50.0.0/24")
	r := func(adv, svc string, w uint32, as uint16) Route {
		return Route{Prefix: pfx, Peers: []string{"frr"}, Weight: w, WeightAS: as, Advertisement: adv, Service: key(svc)}
	}
	for _, c := range []struct {
		name     string
		routes   []Route
		weight   uint32
		as       uint16
		conflict []string
	}{
		{"one Service", []Route{r("x", "a/s", 3, 64512)}, 3, 64512, nil},
		{"two Services add up", []Route{r("x", "a/s", 3, 64512), r("x", "a/t", 2, 64512)}, 5, 64512, nil},
		{"one Service, two advertisements", []Route{r("y", "a/s", 3, 64512), r("x", "a/s", 3, 64512)}, 3, 64512, nil},
		{"ASes differ", []Route{r("x", "a/s", 1, 64512), r("y", "a/t", 1, 64600)}, 2, asTrans, nil},
		{"weighted and not", []Route{r("y", "a/s", 3, 64512), r("x", "a/t", 0, 0)}, 0, 0, []string{"x", "y"}},
		{"unweighted", []Route{r("x", "a/s", 0, 0)}, 0, 0, nil},
	} {
		p := Merge(pfx, c.routes)
		if p.Weight != c.weight || p.WeightAS != c.as || !cmp.Equal(p.WeightConflict, c.conflict) || len(p.Conflict) != 0 {
			t.Errorf("%s: weight %d AS %d conflict %v (localPref conflict %v), want %d %d %v",
				c.name, p.Weight, p.WeightAS, p.WeightConflict, p.Conflict, c.weight, c.as, c.conflict)
		}
	}
}
