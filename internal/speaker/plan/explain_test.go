package plan

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// whys maps each node to its verdict: "*" announces, "+" eligible, "-"
// not, then the reason.
func whys(v AddressVerdict) map[string]string {
	out := map[string]string{}
	for _, n := range v.Nodes {
		mark := "-"
		switch {
		case n.Announces:
			mark = "*"
		case n.Eligible:
			mark = "+"
		}
		out[n.Node] = mark + " " + n.Why
	}
	return out
}

func TestExplainL2JudgesEveryNode(t *testing.T) {
	o := lab()
	o.L2Advertisements[0].Spec.NodeSelectors = sel("rack", "a")
	o.L2Advertisements[0].Spec.Interfaces = []string{"eth0"}
	cfg := mustConfig(t, o)
	ns := nodes("n1", "n2", "n3", "n4", "n5", "n6", "n7")
	for name, n := range ns {
		if name != "n5" {
			n.Labels["rack"] = "a"
		}
		ns[name] = n
	}
	n2 := ns["n2"]
	n2.Excluded, n2.ExcludedBy = true, ExcludedByLabel
	ns["n2"] = n2
	ms := members("n1", "n2", "n3", "n5", "n6", "n7")
	ms[2].Draining = true               // n3
	ms[4].Interfaces = []string{"eth1"} // n6
	s := svc("a/web", "192.168.77.100")
	s.Local, s.ReadyNodes = true, []string{"n1", "n2", "n3", "n5", "n6"} // not n7
	in := L2Input{Config: cfg, Nodes: ns, Members: ms, Services: []Service{s}}

	vs := ExplainL2(in, key("a/web"))
	if len(vs) != 1 || vs[0].Reason != "" {
		t.Fatalf("verdicts %+v, want one announced address", vs)
	}
	want := map[string]string{
		"n1": "* elected: it answers for the address",
		"n2": "- excluded by its " + ExcludedByLabel,
		"n3": "- its speaker is draining (handing its addresses over)",
		"n4": "- no live speaker on it",
		"n5": `- its labels match no node selector of the L2Advertisements ["l2"]`,
		"n6": "- it has none of the interfaces [eth0] the L2Advertisements ask for",
		"n7": "- no ready endpoint of the Service on it (externalTrafficPolicy Local)",
	}
	if diff := cmp.Diff(want, whys(vs[0])); diff != "" {
		t.Errorf("node verdicts (-want +got):\n%s", diff)
	}
	if owners(L2(in))["192.168.77.100"] != "n1" {
		t.Errorf("the plan elects %v, explain says n1", owners(L2(in)))
	}
}

// TestExplainL2AgreesWithTheElection: over many addresses, the node
// explain marks as announcing is the plan's owner, and the others are
// eligible and name it.
func TestExplainL2AgreesWithTheElection(t *testing.T) {
	cfg := mustConfig(t, lab())
	var svcs []Service
	for i := 0; i < 40; i++ {
		svcs = append(svcs, svc(fmt.Sprintf("a/s%d", i), fmt.Sprintf("192.168.77.%d", 100+i)))
	}
	in := L2Input{Config: cfg, Nodes: nodes("n1", "n2", "n3"), Members: members("n1", "n2", "n3"), Services: svcs}
	own := owners(L2(in))
	for _, s := range svcs {
		v := ExplainL2(in, s.Key)[0]
		owner := own[v.IP.String()]
		for node, why := range whys(v) {
			switch {
			case node == owner && why != "* elected: it answers for the address":
				t.Errorf("%s: owner %s explained as %q", v.IP, node, why)
			case node != owner && why != "+ eligible, but "+owner+" is elected":
				t.Errorf("%s: %s explained as %q, owner %s", v.IP, node, why, owner)
			}
		}
	}
}

func TestExplainL2Skips(t *testing.T) {
	cfg := mustConfig(t, lab())
	notReady := svc("a/x", "192.168.77.100")
	notReady.AnyReady = false
	for _, tc := range []struct {
		name   string
		s      Service
		reason Reason
		nodes  int
	}{
		{"in no pool", svc("a/x", "172.16.0.1"), ReasonNoPool, 0},
		{"no advertisement", svc("a/x", "10.99.0.1"), ReasonNoAdvertisement, 0},
		{"no ready endpoint", notReady, ReasonNoEndpoints, 2},
	} {
		in := L2Input{Config: cfg, Nodes: nodes("n1", "n2"), Members: members("n1", "n2"), Services: []Service{tc.s}}
		vs := ExplainL2(in, tc.s.Key)
		if len(vs) != 1 || vs[0].Reason != tc.reason || len(vs[0].Nodes) != tc.nodes || vs[0].Why == "" {
			t.Errorf("%s: %+v, want reason %s with %d nodes", tc.name, vs, tc.reason, tc.nodes)
		}
	}
}

// TestExplainBGPAgreesWithTheAnnouncers: the nodes explain marks as
// announcing are BGPAnnouncers's, and each other node has a reason.
func TestExplainBGPAgreesWithTheAnnouncers(t *testing.T) {
	o := lab()
	o.BGPAdvertisements = append(o.BGPAdvertisements, v1beta1.BGPAdvertisement{ObjectMeta: meta("bird-only"),
		Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"bgp"}, Peers: []string{"bird"}, NodeSelectors: sel("rack", "b")}})
	o.Peers[0].Spec.NodeSelectors = sel("rack", "a") // frr: rack a only; bird: rack a only
	cfg := mustConfig(t, o)
	var list []Node
	for i, name := range []string{"n1", "n2", "n3", "n4"} {
		n := Node{Name: name, Labels: map[string]string{"rack": "a"}}
		switch i {
		case 1:
			n.Excluded, n.ExcludedBy = true, ExcludedByNetworkUnavailable
		case 2:
			n.Labels["rack"] = "b" // no session: both peers select rack a
		case 3:
			n.Cordoned = true
		}
		list = append(list, n)
	}
	s := svc("a/api", "10.50.0.7")
	s.ReadyNodes = []string{"n1", "n2", "n3", "n4"}
	vs := ExplainBGP(cfg, list, &s)
	if len(vs) != 1 {
		t.Fatalf("verdicts %+v", vs)
	}
	want := map[string]string{
		"n1": `* advertises 10.50.0.7/32 to bird, frr (BGPAdvertisement "bgp")`,
		"n2": "- excluded by its " + ExcludedByNetworkUnavailable,
		"n3": "- it has no BGP session: no BGPPeer's node selectors select it",
		"n4": "+ cordoned: it leaves the Service to nodes that are not",
	}
	if diff := cmp.Diff(want, whys(vs[0])); diff != "" {
		t.Errorf("node verdicts (-want +got):\n%s", diff)
	}
	if got := BGPAnnouncers(cfg, list, &s).Nodes; !cmp.Equal(got, []string{"n1"}) {
		t.Errorf("BGPAnnouncers says %v, explain says [n1]", got)
	}
	uncovered := svc("a/l2", "192.168.77.100")
	if vs := ExplainBGP(cfg, list, &uncovered); len(vs) != 1 || vs[0].Reason != ReasonNoAdvertisement || len(vs[0].Nodes) != 0 {
		t.Errorf("an L2 address: %+v, want NoAdvertisement without nodes", vs)
	}
}
