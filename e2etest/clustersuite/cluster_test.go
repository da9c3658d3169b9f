//go:build e2e

package clustersuite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestHelmCluster installs Pylon with its chart, as a user does, on a real
// cluster and checks it end to end. The cases share the cluster and run
// in order; each leaves it as it found it.
func TestHelmCluster(t *testing.T) {
	e := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := e.c.InstallChart(ctx); err != nil {
		t.Fatal(err)
	}
	e.apply(t, cluster.SampleConfig)
	e.apply(t, cluster.Docs(cluster.DemoNamespace, cluster.Backends("web", 3), cluster.Backends("local", 1),
		cluster.LoadBalancer("web-l2", "web", "lan", false), cluster.LoadBalancer("web-bgp", "web", "routed", false),
		cluster.LoadBalancer("local-l2", "local", "lan", true), cluster.LoadBalancer("local-bgp", "local", "routed", true)))
	e.waitRollout(t, "demo", "deployment/web")
	e.waitRollout(t, "demo", "deployment/local")

	for _, c := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"Install", testInstall},
		{"MetricsAuth", testMetricsAuth},
		{"L2", testL2},
		{"BGP", testBGP},
		{"Local", testLocal},
		{"Webhook", testWebhook},
		{"WebhookControllerDown", testWebhookControllerDown},
		{"LeaderFailover", testLeaderFailover},
		{"SpeakerRolloutRestart", testSpeakerRollout},
		{"Drain", testDrain},
		{"NodeLoss", testNodeLoss},
		{"HelmUpgradeUninstall", testHelmUpgradeUninstall},
		{"KustomizeReinstall", testKustomizeReinstall},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, e) })
	}
}

// testInstall: every node runs a ready speaker and the controller runs two
// ready replicas, one of which holds the leader lease.
func testInstall(t *testing.T, e *env) {
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		speakers, err := e.readyPods(ctx, "pylon-system", "app.kubernetes.io/component=speaker")
		if err != nil {
			return false, err
		}
		nodes := map[string]bool{}
		for _, p := range speakers {
			nodes[p.Spec.NodeName] = true
		}
		ctrl, err := e.readyPods(ctx, "pylon-system", "app.kubernetes.io/component=controller")
		return len(nodes) == len(e.c.Nodes) && len(ctrl) == 2, err
	}, "a ready speaker on each of %d nodes and two ready controllers", len(e.c.Nodes))
	if h := e.leader(t); h == "" {
		t.Error("no controller holds the leader lease")
	}
}

// testL2: a dual-stack Service in the L2 pool gets an address of each
// family; the client resolves each (ARP, NDP) to the owner its
// ServiceL2Status names, and its HTTP requests reach backend pods through
// that node's kube-proxy.
func testL2(t *testing.T, e *env) {
	ips := e.ingress(t, "demo", "web-l2", 2)
	owner := e.l2Owner(t, "demo", "web-l2")
	pods := map[string]bool{}
	for _, ip := range ips {
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			a, err := e.get(ctx, "client", ip)
			if err != nil {
				return false, err
			}
			pods[a.Pod] = true
			got, err := e.c.Announcer(ctx, ip)
			return got == owner, err
		}, "the client reaches a backend through %s, resolved to %s", ip, owner)
	}
	// kube-proxy spreads requests over the three backends.
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		a, err := e.get(ctx, "client", ips[0])
		if err == nil {
			pods[a.Pod] = true
		}
		return len(pods) == 3, nil
	}, "requests through %s reach every backend (so far %v)", ips[0], pods)
}

// testBGP: a dual-stack Service in the BGP pool is routed by FRR over all
// three nodes (ECMP in the router's kernel), and the outside host's HTTP
// requests through the router reach backend pods.
func testBGP(t *testing.T, e *env) {
	ips := e.ingress(t, "demo", "web-bgp", 2)
	all := e.c.NodeNames()
	for _, ip := range ips {
		e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
			hops, err := e.nextHops(ctx, ip)
			if err != nil || !slices.Equal(hops, all) {
				return false, fmt.Errorf("next hops %v (%v)", hops, err)
			}
			_, err = e.get(ctx, "outside", ip)
			return err == nil, err
		}, "the router routes %s over %v and the outside host reaches a backend", ip, all)
	}
}

// testLocal: with externalTrafficPolicy Local only nodes with a ready
// backend announce (BGP next hops; the L2 owner), scaling the Deployment
// moves the announcements, and kube-proxy's health check node port says
// the same.
func testLocal(t *testing.T, e *env) {
	bgpIPs := e.ingress(t, "demo", "local-bgp", 2)
	l2IPs := e.ingress(t, "demo", "local-l2", 2)
	hc := e.healthCheckPort(t, "demo", "local-bgp")
	check := func(replicas int) {
		var nodes []string
		e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := e.readyPods(ctx, "demo", "app=local")
			if err != nil || len(pods) != replicas {
				return false, err
			}
			nodes = nodes[:0]
			for _, p := range pods {
				nodes = append(nodes, p.Spec.NodeName)
			}
			slices.Sort(nodes)
			nodes = slices.Compact(nodes)
			for _, ip := range bgpIPs {
				hops, err := e.nextHops(ctx, ip)
				if err != nil || !slices.Equal(hops, nodes) {
					return false, fmt.Errorf("%s next hops %v, want %v (%v)", ip, hops, nodes, err)
				}
			}
			for _, ip := range l2IPs {
				a, err := e.get(ctx, "client", ip)
				if err != nil {
					return false, err
				}
				owner, err := e.c.Announcer(ctx, ip)
				if err != nil || !slices.Contains(nodes, owner) || a.Node != owner {
					return false, fmt.Errorf("%s owned by %s, answered from %+v, want a node of %v (%v)", ip, owner, a, nodes, err)
				}
			}
			healthy, err := e.healthyNodes(ctx, hc)
			if err != nil || !slices.Equal(healthy, nodes) {
				return false, fmt.Errorf("kube-proxy health checks pass on %v, want %v (%v)", healthy, nodes, err)
			}
			return true, nil
		}, "with %d replica(s), announcements follow the ready backends", replicas)
		t.Logf("%d replica(s) on %v: announced from there, kube-proxy agrees", replicas, nodes)
	}
	check(1)
	e.kubectl(t, "scale", "-n", "demo", "deployment/local", "--replicas=2")
	check(2)
	e.kubectl(t, "scale", "-n", "demo", "deployment/local", "--replicas=1")
	check(1)
}

// testWebhook: an invalid IPAddressPool is refused at kubectl apply with
// the controller's own message, which only its webhook (reached through
// its Service) produces.
func testWebhook(t *testing.T, e *env) {
	bad := `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad, namespace: pylon-system}
spec:
  addresses: ["192.168.77.300/26"]
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := e.webhookRejections(t)
	_, err := e.c.KubectlIn(ctx, []byte(bad), "apply", "-f", "-")
	if err == nil {
		t.Fatal("kubectl apply of an invalid IPAddressPool succeeded")
	}
	if after := e.webhookRejections(t); after != before+1 {
		t.Errorf("the API server counted %d rejections by validate.pylonlb.io, want %d", after, before+1)
	}
	// The model's own words (Go's address parser), which no CRD schema
	// check produces.
	for _, want := range []string{`IPAddressPool "bad"`, `spec.addresses[0]`, `invalid CIDR "192.168.77.300/26"`, `IPv4 field has value >255`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not mention %q: %v", want, err)
		}
	}
	if out, err := e.c.Kubectl(ctx, "get", "ipaddresspool", "-n", "pylon-system", "bad"); err == nil {
		t.Errorf("the refused pool exists: %s", out)
	}
}

// webhookRejections reads the API server's count of requests Pylon's
// webhook rejected.
func (e *env) webhookRejections(t testing.TB) int {
	t.Helper()
	out := e.kubectl(t, "get", "--raw", "/metrics")
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "apiserver_admission_webhook_rejection_count{") && strings.Contains(line, `name="validate.pylonlb.io"`) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
				n += int(v)
			}
		}
	}
	return n
}

// leader returns the pod holding the controller's leader lease ("" when
// none).
func (e *env) leader(t testing.TB) string {
	t.Helper()
	var l coordinationv1.Lease
	e.jsonOut(t, &l, "get", "lease", "-n", "pylon-system", "pylon-controller")
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	pod, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	return pod
}

// allIngress returns every Service's ingress addresses, by Service.
func (e *env) allIngress(t testing.TB) map[string][]string {
	t.Helper()
	svcs, err := e.c.Admin.Kube.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, s := range svcs.Items {
		for _, in := range s.Status.LoadBalancer.Ingress {
			out[s.Namespace+"/"+s.Name] = append(out[s.Namespace+"/"+s.Name], in.IP)
		}
	}
	return out
}

// testLeaderFailover: deleting the leading controller's pod makes the
// other replica lead within the lease time, no Service changes address,
// and the new leader assigns addresses.
func testLeaderFailover(t *testing.T, e *env) {
	before := e.allIngress(t)
	old := e.leader(t)
	if old == "" {
		t.Fatal("no leader")
	}
	t0 := time.Now()
	e.kubectl(t, "delete", "pod", "-n", "pylon-system", old, "--wait=false")
	var now string
	e.eventually(t, 45*time.Second, func(ctx context.Context) (bool, error) {
		now = e.leader(t)
		return now != "" && now != old, nil
	}, "another controller takes the lease from %s", old)
	t.Logf("leader %s deleted; %s leads after %v (lease duration 15 s)", old, now, time.Since(t0).Round(10*time.Millisecond))
	e.apply(t, cluster.LoadBalancer("after-failover", "web", "lan", false))
	e.ingress(t, "demo", "after-failover", 2)
	e.kubectl(t, "delete", "service", "-n", "demo", "after-failover")
	after := e.allIngress(t)
	delete(after, "demo/after-failover")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("addresses changed with the leader:\nbefore %v\nafter  %v", before, after)
	}
	e.waitRollout(t, "pylon-system", "deployment/pylon-controller")
}

// testSpeakerRollout: restarting every speaker, one node at a time as the
// DaemonSet rolls, fails no client request and moves no address: a
// speaker stopped for a rolling update keeps its L2 addresses for its
// successor, BGP routes are kept by graceful restart.
func testSpeakerRollout(t *testing.T, e *env) {
	e.settle(t)
	probes := e.probeAll(t)
	e.kubectl(t, "rollout", "restart", "-n", "pylon-system", "daemonset/pylon-speaker")
	e.waitRollout(t, "pylon-system", "daemonset/pylon-speaker")
	probes.settleAndCheck(t, true)
}
