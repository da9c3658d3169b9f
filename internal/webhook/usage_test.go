package webhook

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
)

func TestServicesUsingPool(t *testing.T) {
	ranges := []ipam.Range{
		{First: netip.MustParseAddr("192.0.2.10"), Last: netip.MustParseAddr("192.0.2.20")},
		{First: netip.MustParseAddr("2001:db8::"), Last: netip.MustParseAddr("2001:db8::ff")},
	}
	from := func(p string) map[string]string { return map[string]string{v1beta1.AnnotationAllocatedFromPool: p} }
	clusterIP := lbService("app", "cluster-ip", "192.0.2.12", nil)
	clusterIP.Spec.Type = corev1.ServiceTypeClusterIP
	svcs := []corev1.Service{
		lbService("app", "annotated", "", from("p")),
		lbService("app", "first-address", "192.0.2.10", nil),
		lbService("app", "last-address", "192.0.2.20", nil),
		lbService("app", "outside", "192.0.2.21", nil),
		lbService("web", "v6", "2001:db8::1", nil),
		lbService("web", "mapped", "::ffff:192.0.2.15", nil),
		lbService("web", "other-pool", "198.51.100.1", from("q")),
		lbService("web", "hostname", "", nil),
		clusterIP,
	}
	want := []string{"app/annotated", "app/first-address", "app/last-address", "web/mapped", "web/v6"}
	if diff := cmp.Diff(want, ServicesUsingPool("p", ranges, svcs)); diff != "" {
		t.Errorf("ServicesUsingPool (-want +got):\n%s", diff)
	}
	if got := ServicesUsingPool("p", nil, svcs[1:]); got != nil {
		t.Errorf("without ranges or annotations: %v", got)
	}
}

func TestPeersUsingProfile(t *testing.T) {
	peers := []v1beta1.BGPPeer{*peer("b", "fast", 0), *peer("a", "fast", 0), *peer("c", "slow", 0), *peer("d", "", 0)}
	if diff := cmp.Diff([]string{"a", "b"}, PeersUsingProfile("fast", peers)); diff != "" {
		t.Errorf("PeersUsingProfile (-want +got):\n%s", diff)
	}
}

func TestInUseNamesAtMostTen(t *testing.T) {
	var svcs []corev1.Service
	for i := range 13 {
		svcs = append(svcs, lbService("app", fmt.Sprintf("s%02d", i), "192.0.2.1", nil))
	}
	got := Decide(Input{Existing: existing(), Change: del(KindPool, "a"), Services: svcs})
	want := `IPAddressPool "a" is in use by 13 Services: app/s00, app/s01, app/s02, app/s03, app/s04, app/s05, app/s06, app/s07, app/s08, app/s09 and 3 more. Delete them`
	if got.Reason != InUse || !strings.HasPrefix(got.Message, want) {
		t.Errorf("message %q, want prefix %q", got.Message, want)
	}
	peers := existing()
	peers.Peers = append(peers.Peers, *peer("tor2", "fast", 0))
	got = Decide(Input{Existing: peers, Change: del(KindBFD, "fast")})
	if want := `BFDProfile "fast" is in use by BGPPeers "tor", "tor2" (spec.bfdProfile). Change or delete those peers first`; got.Message != want {
		t.Errorf("message %q, want %q", got.Message, want)
	}
}
