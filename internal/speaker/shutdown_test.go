package speaker_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp"
)

// TestBGPSessionOptions: dualStackAddressFamily carries the other family
// over the session (next hop: the node's address of that family), and
// localASN is the ASN the session presents. An unnumbered session gets its
// interface and no next hops (both families use its link-local address).
func TestBGPSessionOptions(t *testing.T) {
	h := newHarness(t, "a")
	v4, v6, link := bgpConfig()[0], bgpConfig()[0], bgpConfig()[0]
	v4.Spec.DualStackAddressFamily, v4.Spec.LocalASN = true, 65010
	v6.Name, v6.Spec.PeerAddress = "frr6", "fd00:77::1"
	link.Name, link.Spec.PeerAddress, link.Spec.Interface, link.Spec.DualStackAddressFamily = "p2p", "", "p2p0", true
	h.apply(&v4, &v6, &link)
	eventually(t, func() (bool, string) {
		got := map[string]bgp.PeerConfig{}
		for _, p := range h.nodes["a"].router.Peers() {
			got[p.Name] = p
		}
		a, b, c := got["frr"], got["frr6"], got["p2p"]
		ok := len(got) == 3 && a.IPv6NextHop == addr("fd00:77::11") && a.MyASN == 65010 &&
			!b.IPv4NextHop.IsValid() && b.MyASN == 64512 &&
			c.Interface == "p2p0" && !c.Address.IsValid() && !c.IPv4NextHop.IsValid() && !c.IPv6NextHop.IsValid()
		return ok, fmt.Sprintf("sessions = %+v", got)
	})
}

// TestBGPGracefulShutdown: a stopping speaker re-announces its paths
// marked for graceful shutdown before its sessions close; not when it
// stops for a rolling update and its sessions do graceful restart (the
// router keeps the routes and the node forwards throughout).
func TestBGPGracefulShutdown(t *testing.T) {
	for _, tc := range []struct {
		name             string
		rolling, restart bool
		want             bool
	}{
		{"stop", false, false, true},
		{"stop with graceful restart", false, true, true},
		{"rolling update", true, false, true},
		{"rolling update with graceful restart", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.gracefulShutdown = 300 * time.Millisecond
			h.rolling.Store(tc.rolling)
			h.createNode("a", 0)
			h.startSpeaker("a")
			peer := bgpConfig()[0]
			peer.Spec.EnableGracefulRestart = tc.restart
			h.apply(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.52.0.0/24"}}},
				&peer, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}, Spec: v1beta1.BGPAdvertisementSpec{Communities: []string{"65000:7"}}})
			h.service("web", false, []string{"10.52.0.1"}, "a")
			eventually(t, func() (bool, string) {
				paths, peers := h.nodes["a"].router.Paths(), h.nodes["a"].router.Peers()
				ok := len(paths) == 1 && !paths[0].GracefulShutdown && len(peers) == 1 && peers[0].GracefulRestart == tc.restart
				return ok, fmt.Sprintf("paths %+v, sessions %+v", paths, peers)
			})
			h.nodes["a"].stop()
			paths := h.nodes["a"].router.Paths()
			if len(paths) != 1 || paths[0].GracefulShutdown != tc.want || len(paths[0].Communities) != 1 {
				t.Errorf("paths after the stop = %+v, want 10.52.0.1/32 with its community, marked GracefulShutdown: %v", paths, tc.want)
			}
		})
	}
}
