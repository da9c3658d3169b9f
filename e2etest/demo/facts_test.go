package demo

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/e2etest/lab/kube"
)

func sampleFacts() *Facts {
	return &Facts{Services: []ServiceFacts{
		{Service: Services[0], IPs: []IPFacts{
			{IP: netip.MustParseAddr("192.168.77.128"), MAC: "02:77:00:00:00:0c", Announcer: "node2", From: "client", Answer: "node2"},
			{IP: netip.MustParseAddr("fd00:77::100"), MAC: "02:77:00:00:00:0c", Announcer: "node2", From: "client", Answer: "node2"},
		}},
		{Service: Services[1], IPs: []IPFacts{
			{IP: netip.MustParseAddr("198.51.100.1"), RouterPaths: 3, NextHops: []string{"node1", "node2", "node3"}, From: "outside", Answer: "node3"},
			{IP: netip.MustParseAddr("2001:db8:100::"), RouterPaths: 3, NextHops: []string{"node1", "node2", "node3"}, From: "outside", Answer: "node1"},
		}},
	}}
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := sampleFacts().Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `Service demo/demo-l2 (pool demo-l2, L2 mode):
  192.168.77.128   announced by node2 (the client's ARP entry: 02:77:00:00:00:0c)
                   client → http://192.168.77.128/ answered by node2
  fd00:77::100     announced by node2 (the client's NDP entry: 02:77:00:00:00:0c)
                   client → http://[fd00:77::100]/ answered by node2
Service demo/demo-bgp (pool demo-bgp, BGP mode):
  198.51.100.1     routed by the router via node1, node2, node3 (3 paths in FRR's BGP table)
                   outside → http://198.51.100.1/ answered by node3
  2001:db8:100::   routed by the router via node1, node2, node3 (3 paths in FRR's BGP table)
                   outside → http://[2001:db8:100::]/ answered by node1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteIncomplete(t *testing.T) {
	f := &Facts{Services: []ServiceFacts{
		{Service: Services[0], Err: "no IP in the status"},
		{Service: Services[1], IPs: []IPFacts{{IP: netip.MustParseAddr("198.51.100.1"), From: "outside", Err: "HTTP from outside: timeout"}}},
	}}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"no IP: no IP in the status", "no route at the router (0 paths", "outside → http://198.51.100.1/: no answer", "(!) HTTP from outside: timeout"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, b.String())
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *Facts)
		want   string // substring of the error; "" for none
	}{
		{"working", func(*Facts) {}, ""},
		{"L2 answered by another node", func(f *Facts) { f.Services[0].IPs[0].Answer = "node1" }, `announced by "node2" but answered by "node1"`},
		{"no HTTP answer", func(f *Facts) { f.Services[1].IPs[0].Answer = "" }, "no HTTP answer from outside"},
		{"BGP route via two nodes", func(f *Facts) { f.Services[1].IPs[1].NextHops = []string{"node1", "node2"} }, "want 3 nodes"},
		{"single stack", func(f *Facts) { f.Services[0].IPs = f.Services[0].IPs[:1] }, "want an IPv4 and an IPv6 address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sampleFacts()
			tc.change(f)
			err := f.Check(3)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigDecodes(t *testing.T) {
	objs, err := kube.SplitYAML([]byte(Config))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	want := []string{"IPAddressPool/demo-l2", "L2Advertisement/demo-l2", "IPAddressPool/demo-bgp", "BFDProfile/fast",
		"BGPPeer/router-v4", "BGPPeer/router-v6", "BGPAdvertisement/demo-bgp"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
