package plan

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylonlb/pylon/api/v1beta1"
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
