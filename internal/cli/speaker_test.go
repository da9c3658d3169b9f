package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/bgp/bgptest"
	"github.com/pylonlb/pylon/internal/cli"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/speaker"
	"github.com/pylonlb/pylon/internal/speaker/speakertest"
	"github.com/pylonlb/pylon/internal/testenv"
)

// fakeRouter is a BGP router that runs until its context ends.
type fakeRouter struct{ *bgptest.Fake }

func (fakeRouter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// realSpeaker is one real speaker process with fake network parts.
type realSpeaker struct {
	announcer *speakertest.Announcer
	router    *bgptest.Fake
}

// startSpeakers runs the real speaker on each node (Node objects with
// addresses, and a ready speaker pod, as the DaemonSet would have), with
// in-memory membership, L2 segment and BGP routers.
func (h *harness) startSpeakers(nodes ...string) map[string]*realSpeaker {
	h.t.Helper()
	cluster, segment := speakertest.NewCluster(), speakertest.NewSegment()
	out := map[string]*realSpeaker{}
	for i, name := range nodes {
		n := &corev1.Node{}
		if err := h.c.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			h.t.Fatal(err)
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("192.168.77.%d", 11+i)}}
		if err := h.c.Status().Update(context.Background(), n); err != nil {
			h.t.Fatal(err)
		}
		h.speakerPod(name)
	}
	for _, name := range nodes {
		s := &realSpeaker{announcer: segment.Announcer(), router: bgptest.NewFake()}
		s.router.AutoEstablish = true
		opts := speaker.Options{NodeName: name, Namespace: h.ns, LBClass: h.class, MetricsAddr: "0",
			Membership: membership.Config{BindPort: 7946}, HeartbeatPort: 7947, StartupGrace: time.Minute,
			HandoffTimeout: 500 * time.Millisecond, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)}
		proc, err := speaker.NewProcessWith(env.Config, opts, speaker.Components{Members: cluster.Join(name), Announcer: s.announcer,
			NewRouter: func(netip.Addr) (speaker.Router, error) { return fakeRouter{s.router}, nil }, Detector: speakertest.NewDetector()})
		if err != nil {
			h.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- proc.Run(ctx) }()
		h.t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("speaker %s stopped with error: %v", name, err)
			}
		})
		out[name] = s
	}
	return out
}

// TestAnswersAgreeWithTheRealSpeakers runs the controller and a real
// speaker on three nodes: the node explain elects for each L2 address is
// the one whose speaker answers for it, and status names it; the BGP
// node explain names is the one whose router carries the prefix.
func TestAnswersAgreeWithTheRealSpeakers(t *testing.T) {
	h := newHarness(t)
	h.pool("lan", true, "192.0.2.32/28")
	h.pool("wan", false, "198.51.100.32/28")
	h.create(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan", Namespace: h.ns},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}}})
	h.create(&v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor", Namespace: h.ns},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.168.77.1"}})
	h.create(&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "wan", Namespace: h.ns},
		Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"wan"}}})
	nodes := []string{h.node("a", nil, false), h.node("b", nil, false), h.node("c", nil, false)}
	speakers := h.startSpeakers(nodes...)

	webs := []string{"web1", "web2", "web3", "web4", "web5", "web6"}
	for _, name := range webs {
		h.service(name)
		h.endpoints(name, nodes...)
	}
	h.service("api", annotate(v1beta1.AnnotationAddressPool, "wan"), local)
	h.endpoints("api", nodes[1])

	for _, name := range webs {
		ip := netip.MustParseAddr(h.waitIPs(name, 1)[0])
		var owner string
		testenv.Eventually(t, func() (bool, string) {
			owner = ""
			for node, s := range speakers {
				if _, ok := s.announcer.Announced()[ip]; ok {
					owner = node
				}
			}
			return owner != "" && h.l2StatusNode(name) == owner, fmt.Sprintf("%s: announced by %q, status says %q", ip, owner, h.l2StatusNode(name))
		})
		r := h.run("", "explain", name)
		wantLine(t, "explain "+name, r.out, "* "+owner, "elected")
		var rep cli.ServiceReport
		r = h.run("", "status", name, "-o", "json")
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil || rep.L2 == nil || rep.L2.Node != owner || rep.Problem != "" {
			t.Errorf("status %s: %+v (%v); the speakers elected %s", name, rep, err, owner)
		}
	}

	ip := h.waitIPs("api", 1)[0]
	testenv.Eventually(t, func() (bool, string) {
		var carriers []string
		for node, s := range speakers {
			for _, p := range s.router.Paths() {
				if p.Prefix.String() == ip+"/32" {
					carriers = append(carriers, node)
				}
			}
		}
		r := h.run("", "status", "api")
		return len(carriers) == 1 && carriers[0] == nodes[1] && lineWith(r.out, nodes[1]+" (BGP, 1/1 sessions up)"),
			fmt.Sprintf("routers carrying %s: %v; status:\n%s", ip, carriers, r.out)
	})
	var rep cli.ServiceReport
	if err := json.Unmarshal([]byte(h.run("", "status", "api", "-o", "json").out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.BGP) != 1 || rep.BGP[0].Since == nil || rep.LastMove == nil || rep.LastMove.Time.Before(rep.BGP[0].Since) {
		t.Errorf("status api: BGP %+v, last move %+v; want the node's advertising time, and a last move no older", rep.BGP, rep.LastMove)
	}
	r := h.run("", "explain", "api")
	wantLine(t, "explain api", r.out, "* "+nodes[1], "advertises "+ip+"/32 to tor")
	wantLine(t, "explain api", r.out, "- "+nodes[0], "no ready endpoint of the Service on it")
}

// l2StatusNode returns the node of a Service's ServiceL2Status, or "".
func (h *harness) l2StatusNode(name string) string {
	st := &v1beta1.ServiceL2Status{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: name}, st); err != nil {
		return ""
	}
	return st.Status.Node
}
