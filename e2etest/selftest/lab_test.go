//go:build e2e

package selftest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// TestLab runs the self-test cases against one lab (a second router
// included), since bringing a lab up is the expensive part.
func TestLab(t *testing.T) {
	l := labtest.Start(t, lab.Options{Nodes: 3, Router2: true})
	t.Logf("lab %s up in %v (network %v, control plane %v)", l.ID, l.Timings.Total, l.Timings.Network, l.Timings.ControlPlane)
	t.Run("Reachability", func(t *testing.T) { testReachability(t, l) })
	t.Run("ServiceIPOnLo", func(t *testing.T) { testServiceIPOnLo(t, l) })
	t.Run("APIServerFromNodes", func(t *testing.T) { testAPIServerFromNodes(t, l) })
	t.Run("NodeObjects", func(t *testing.T) { testNodeObjects(t, l) })
	t.Run("Routers", func(t *testing.T) { testRouters(t, l) })
	t.Run("LinkAndPartition", func(t *testing.T) { testLinkAndPartition(t, l) })
}

func ping(ctx context.Context, from topo.Host, to netip.Addr) error {
	args := []string{"-c1", "-W2", to.String()}
	if to.Is6() {
		args = append([]string{"-6"}, args...)
	}
	_, err := from.NS.Run(ctx, "ping", args...)
	return err
}

// testReachability: every host reaches every node over IPv4 and IPv6; the
// outside host and router2 only through the router.
func testReachability(t *testing.T, l *lab.Lab) {
	ctx := context.Background()
	for _, from := range l.Topo.Hosts {
		for _, n := range l.Topo.Nodes() {
			if from.Name == n.Name {
				continue
			}
			for _, a := range []netip.Addr{n.IPv4(), n.IPv6()} {
				if err := ping(ctx, from, a); err != nil {
					t.Errorf("%s → %s (%s): %v", from.Name, n.Name, a, err)
				}
			}
		}
	}
}

// testServiceIPOnLo: an IP on a node's lo is served by that node's HTTP
// server once the client's neighbour entry (or the router's route) points
// at the node, and no node's kernel answers ARP for it by itself.
func testServiceIPOnLo(t *testing.T, l *lab.Lab) {
	ctx := context.Background()
	client := l.Client()
	v4, v6 := netip.MustParseAddr("192.168.77.130"), netip.MustParseAddr("fd00:77::130")
	for _, ip := range []netip.Addr{v4, v6} {
		if err := l.ServeIP(ctx, ip); err != nil { // on every node, as kube-proxy would
			t.Fatal(err)
		}
		defer l.UnserveIP(ctx, ip)
	}
	// Nobody answers ARP/NDP for the service IP: the speaker's job.
	if err := ping(ctx, client, v4); err == nil {
		t.Errorf("client reached %s with no announcer: a node's kernel answers ARP for its lo", v4)
	}
	if err := ping(ctx, client, v6); err == nil {
		t.Errorf("client reached %s with no announcer: a node's kernel answers NDP for its lo", v6)
	}
	for _, n := range l.Topo.Nodes() {
		for _, ip := range []netip.Addr{v4, v6} {
			if _, err := client.NS.IP(ctx, "neigh", "replace", ip.String(), "lladdr", n.MAC().String(), "dev", "eth0", "nud", "permanent"); err != nil {
				t.Fatal(err)
			}
			if got, err := l.HTTP(ctx, "client", ip); err != nil || got != n.Name {
				t.Errorf("client → %s with neighbour entry → %s: answered by %q, %v", ip, n.Name, got, err)
			}
			if got, err := l.Announcer(ctx, ip); err != nil || got != n.Name {
				t.Errorf("Announcer(%s) = %q, %v; want %s", ip, got, err, n.Name)
			}
		}
	}
	// Through the router: a static route stands in for BGP here.
	node3 := l.Node("node3")
	if _, err := l.Router().NS.IP(ctx, "route", "replace", v4.String()+"/32", "via", node3.IPv4().String()); err != nil {
		t.Fatal(err)
	}
	defer l.Router().NS.IP(ctx, "route", "del", v4.String()+"/32")
	if got, err := l.HTTP(ctx, "outside", v4); err != nil || got != "node3" {
		t.Errorf("outside → %s routed to node3: answered by %q, %v", v4, got, err)
	}
}

// testAPIServerFromNodes: /readyz answers over HTTPS with the lab CA from
// every node namespace, and the speakers' ServiceAccount token authenticates.
func testAPIServerFromNodes(t *testing.T, l *lab.Lab) {
	ctx := context.Background()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(l.Server.CACert())
	for _, n := range l.Topo.Nodes() {
		for _, url := range []string{l.LANAPIServerURL(), l.Server.URL(l.Topo.MustHost("ctl").IPv6())} {
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: n.NS.DialContext}}
			resp, err := client.Get(url + "/readyz")
			if err != nil {
				t.Errorf("%s → %s/readyz: %v", n.Name, url, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Errorf("%s → %s/readyz: %s %q", n.Name, url, resp.Status, body)
			}
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.SpeakerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dial = l.Node("node1").NS.DialContext
	c, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := c.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	want := fmt.Sprintf("system:serviceaccount:%s:%s", lab.PylonNamespace, lab.SpeakerServiceAccount)
	if err != nil || rev.Status.UserInfo.Username != want {
		t.Errorf("speaker token from node1 authenticates as %+v, %v; want %s", rev, err, want)
	}
}

// testNodeObjects: one Ready Node per node namespace, with both addresses.
func testNodeObjects(t *testing.T, l *lab.Lab) {
	nodes, err := l.Admin.Kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(l.Topo.Nodes()) {
		t.Fatalf("%d Node objects, want %d", len(nodes.Items), len(l.Topo.Nodes()))
	}
	for _, n := range nodes.Items {
		h := l.Node(n.Name)
		var addrs []string
		for _, a := range n.Status.Addresses {
			addrs = append(addrs, a.Address)
		}
		if fmt.Sprint(addrs) != fmt.Sprint([]string{n.Name, h.IPv4().String(), h.IPv6().String()}) {
			t.Errorf("node %s addresses %v", n.Name, addrs)
		}
		if len(n.Status.Conditions) == 0 || n.Status.Conditions[0].Status != "True" {
			t.Errorf("node %s not Ready: %+v", n.Name, n.Status.Conditions)
		}
	}
}
