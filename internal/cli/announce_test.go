package cli_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// TestAnnouncementAnswers: explain judges every node as the speakers'
// plans do (elected, excluded by label or NetworkUnavailable, no
// speaker), and status reports the owner and sessions the speakers
// publish in their status objects (written here as a speaker writes them).
func TestAnnouncementAnswers(t *testing.T) {
	h := newHarness(t)
	h.pool("l2", true, "192.0.2.20/32")
	h.pool("bgp", false, "198.51.100.8/30")
	h.create(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: h.ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"l2"}}})
	h.create(&v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor", Namespace: h.ns},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "10.0.0.1"}})
	h.create(&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "up", Namespace: h.ns},
		Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"bgp"}}})
	n1 := h.node("n1", nil, false)
	n2 := h.node("n2", map[string]string{v1beta1.LabelExcludeFromLB: ""}, false)
	n3 := h.node("n3", nil, true)
	n4 := h.node("n4", nil, false)
	n5 := h.node("n5", nil, false)
	for _, n := range []string{n1, n2, n3, n5} {
		h.speakerPod(n)
	}

	h.service("web")
	h.service("api", annotate(v1beta1.AnnotationAddressPool, "bgp"), local)
	h.waitIPs("web", 1)
	h.waitIPs("api", 1)
	h.endpoints("web", n1)
	h.endpoints("api", n1)

	r := h.run("", "explain", "web")
	wantLine(t, "explain web", r.out, "Announcement of 192.0.2.20 (L2): announced")
	wantLine(t, "explain web", r.out, n2, "excluded by its label "+v1beta1.LabelExcludeFromLB)
	wantLine(t, "explain web", r.out, n3, "excluded by its condition NetworkUnavailable")
	wantLine(t, "explain web", r.out, n4, "no live speaker")
	// web's Cluster policy lets n1 and n5 answer; the election picks one.
	owner := n1
	if !lineWith(r.out, "* "+n1) {
		owner = n5
	}
	wantLine(t, "explain web", r.out, "* "+owner, "elected")

	r = h.run("", "status", "web")
	wantLine(t, "status web before the speaker reports", r.out, "web", "L2", "not announced in L2", "no speaker has reported it yet")
	since := metav1.NewTime(time.Now().Add(-10 * time.Minute))
	h.create(&v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: h.app},
		Status: v1beta1.ServiceL2StatusStatus{ServiceName: "web", ServiceNamespace: h.app, Node: owner, IPs: []string{"192.0.2.20"}, Since: since}})
	r = h.run("", "status", "web")
	wantLine(t, "status web", r.out, "web", "192.0.2.20", "l2", "L2", owner+" (L2)", "10m", " -")

	r = h.run("", "explain", "api")
	wantLine(t, "explain api", r.out, "Announcement of 198.51.100.8 (BGP): announced")
	wantLine(t, "explain api", r.out, "* "+n1, "advertises 198.51.100.8/32 to tor")
	wantLine(t, "explain api", r.out, n5, "no ready endpoint of the Service on it (externalTrafficPolicy Local)")
	wantLine(t, "explain api", r.out, n4, "no live speaker")

	est := metav1.NewTime(time.Now().Add(-time.Hour))
	st := &v1beta1.ServiceBGPStatus{ObjectMeta: metav1.ObjectMeta{Name: n1, Namespace: h.ns}}
	h.create(st)
	st.Status = v1beta1.ServiceBGPStatusStatus{Node: n1, SessionsEstablished: 1, PrefixCount: 1,
		Sessions: []v1beta1.BGPSessionStatus{{Peer: "tor", Address: "10.0.0.1", State: "Established", EstablishedSince: &est}},
		Services: []v1beta1.BGPServiceAnnouncement{{Service: h.app + "/api", Prefixes: []string{"198.51.100.8/32"}, Peers: []string{"tor"}}}}
	if err := h.c.Update(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	r = h.run("", "status", "api")
	wantLine(t, "status api", r.out, "api", "198.51.100.8", "bgp", "BGP", n1+" (BGP, 1/1 sessions up)", " -")
	r = h.run("", "who-has", "198.51.100.8")
	wantLine(t, "who-has", r.out, n1, "advertises 198.51.100.8/32 to tor Established")
}

func lineWith(text, part string) bool {
	var found bool
	for _, l := range splitLines(text) {
		found = found || contains(l, part)
	}
	return found
}
