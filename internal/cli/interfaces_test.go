package cli_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/speaker/speakertest"
	"github.com/pylonlb/pylon/internal/testenv"
)

// TestExplainUsesPublishedInterfaces: the speakers publish their usable
// interfaces and subnets in their ConfigurationState, and explain judges
// each node by them as the election does: with an advertisement asking
// for eth1, only the node that has eth1 is eligible, and it is the one
// whose speaker answers; a node on another subnet is not eligible for an
// address of this one.
func TestExplainUsesPublishedInterfaces(t *testing.T) {
	h := newHarness(t)
	h.pool("lan", true, "192.0.2.48/28")
	h.pool("back", true, "10.9.0.0/28")
	h.create(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: h.ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}, Interfaces: []string{"eth1"}}})
	h.create(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "back", Namespace: h.ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"back"}}})
	nodes := []string{h.node("a", nil, false), h.node("b", nil, false), h.node("c", nil, false)}
	speakers := h.startSpeakers(nodes...)
	for _, n := range nodes[:2] {
		speakers[n].announcer.SetInterfaceList(speakertest.Interface("eth0", "10.9.0.0/24"))
	}
	speakers[nodes[2]].announcer.SetInterfaceList(speakertest.Interface("eth0", "10.8.0.0/24"), speakertest.Interface("eth1", "192.0.2.0/24"))
	testenv.Eventually(t, func() (bool, string) {
		var got []string
		for _, n := range nodes {
			st := &v1beta1.ConfigurationState{}
			if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "speaker-" + n}, st); err != nil {
				return false, err.Error()
			}
			got = append(got, fmt.Sprint(st.Status.Interfaces))
		}
		return strings.Contains(got[2], "eth1") && strings.Contains(got[0], "10.9.0.0/24"), fmt.Sprintf("published interfaces %v", got)
	})

	h.service("front", annotate(v1beta1.AnnotationAddressPool, "lan"))
	h.endpoints("front", nodes...)
	h.service("inner", annotate(v1beta1.AnnotationAddressPool, "back"))
	h.endpoints("inner", nodes...)
	ip, owner := netip.MustParseAddr(h.waitIPs("front", 1)[0]), nodes[2]
	testenv.Eventually(t, func() (bool, string) {
		_, ok := speakers[owner].announcer.Announced()[ip]
		return ok, fmt.Sprintf("%s not answered by %s", ip, owner)
	})
	r := h.run("", "explain", "front")
	wantLine(t, "explain front", r.out, "* "+owner, "elected")
	wantLine(t, "explain front", r.out, "- "+nodes[0], "none of the interfaces [eth1]")
	if strings.Contains(r.out, "assumes") {
		t.Errorf("explain front still assumes interfaces:\n%s", r.out)
	}
	// 10.9.0.x: nodes a and b are on its subnet, c is not.
	r = h.run("", "explain", "inner")
	wantLine(t, "explain inner", r.out, nodes[2], "not on the address's subnet")
}
