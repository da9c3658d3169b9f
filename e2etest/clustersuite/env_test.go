//go:build e2e

package clustersuite

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// env is one cluster with FRR on the router, shared by a suite's cases.
type env struct {
	c   *cluster.Cluster
	frr *routers.FRR
	// root is the repository (charts/, config/).
	root string
}

// startCluster brings a cluster up for t (skipping, or failing in CI, when
// a prerequisite is missing) with FRR on the router accepting every node
// over IPv4 and IPv6 with BFD and graceful restart; Close runs when t ends.
func startCluster(t *testing.T) *env {
	t.Helper()
	opts := cluster.Options{}
	prereq.Check(t, cluster.Missing(opts))
	if prereq.RepoRoot() == "" {
		t.Fatal("not inside the repository")
	}
	opts.Lab.Logger = labtest.Logger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := cluster.Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{c: c, root: prereq.RepoRoot()}
	t.Cleanup(func() {
		if t.Failed() {
			c.KeepDir()
			t.Logf("cluster %s failed: logs kept in %s", c.ID, c.Dir)
			e.dumpState(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	if e.frr, err = c.StartRouter(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// dumpState logs what the cluster looked like when a case failed.
func (e *env) dumpState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"get", "nodes", "-o", "wide"},
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "svc", "-A"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
	} {
		out, err := e.c.Kubectl(ctx, args...)
		t.Logf("kubectl %s (err %v):\n%s", strings.Join(args, " "), err, out)
	}
	logs, _ := e.c.Kubectl(ctx, "logs", "-n", "pylon-system", "-l", "app.kubernetes.io/component=speaker", "--tail=40", "--prefix")
	t.Logf("speaker logs:\n%s", logs)
	_ = os.WriteFile(filepath.Join(e.c.Dir, "failure-state.txt"), logs, 0o644)
}

// kubectl runs kubectl and fails t on error.
func (e *env) kubectl(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := e.c.Kubectl(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// apply applies YAML (see cluster.Apply) and fails t on error.
func (e *env) apply(t testing.TB, yaml string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.c.Apply(ctx, yaml); err != nil {
		t.Fatal(err)
	}
}

// helm runs helm and fails t on error.
func (e *env) helm(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := e.c.Helm(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// eventually polls cond until it holds, failing t after timeout; a
// cluster daemon that died fails t at once.
func (e *env) eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	labtest.Eventually(t, timeout, func(ctx context.Context) (bool, error) {
		if err := e.c.CheckNodes(); err != nil {
			return false, err
		}
		return cond(ctx)
	}, format, args...)
}

// pods lists the pods matching a label selector in a namespace.
func (e *env) pods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	l, err := e.c.Admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// readyPods returns the ready pods of a selector, by name.
func (e *env) readyPods(ctx context.Context, ns, selector string) (map[string]corev1.Pod, error) {
	ps, err := e.pods(ctx, ns, selector)
	if err != nil {
		return nil, err
	}
	out := map[string]corev1.Pod{}
	for _, p := range ps {
		if p.DeletionTimestamp == nil && podReady(&p) {
			out[p.Name] = p
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitRollout waits for a Deployment or DaemonSet rollout with kubectl.
func (e *env) waitRollout(t testing.TB, ns, what string) {
	t.Helper()
	e.kubectl(t, "rollout", "status", "-n", ns, what, "--timeout=150s")
}

// ingress waits until the Service has n ingress addresses and returns them.
func (e *env) ingress(t testing.TB, ns, name string, n int) []netip.Addr {
	t.Helper()
	var ips []netip.Addr
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		svc, err := e.c.Admin.Kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ips = ips[:0]
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil {
				ips = append(ips, a)
			}
		}
		return len(ips) == n, nil
	}, "Service %s/%s gets %d addresses", ns, name, n)
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}

// answer is what a backend answered: its pod and node.
type answer struct{ Pod, Node string }

func parseAnswer(s string) (answer, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return answer{}, fmt.Errorf("backend answered %q, want \"POD NODE\"", s)
	}
	return answer{Pod: f[0], Node: f[1]}, nil
}

// get requests http://ip/ from a lab host ("client" on the LAN, "outside"
// behind the router) and returns the backend that answered.
func (e *env) get(ctx context.Context, host string, ip netip.Addr) (answer, error) {
	s, err := e.c.HTTP(ctx, host, ip)
	if err != nil {
		return answer{}, err
	}
	return parseAnswer(s)
}

// prober probes http://ip/ from host every 10 ms until stop is called,
// which returns the summary and the samples.
func (e *env) prober(t testing.TB, host string, ip netip.Addr) (stop func() (probe.Summary, []probe.Sample)) {
	t.Helper()
	p, err := probe.NewProber(probe.ProberConfig{Do: probe.ForHTTP(e.c.Topo.MustHost(host).NS, ip, probe.DefaultPort), Timeout: probeTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	return func() (probe.Summary, []probe.Sample) {
		cancel()
		<-done
		return probe.Summarize(p.Samples()), p.Samples()
	}
}

// probeTimeout bounds each probe: long enough for one TCP retransmission
// (1 s), so a single packet dropped on this shared two-core machine (the
// kubelets, kube-proxy's nft transactions, the API server) costs a request
// latency, as it costs a real client, and does not count as lost; an
// outage, a refused or reset connection still does.
const probeTimeout = 1500 * time.Millisecond

// requireNoFailures fails t when a probe run lost a request. A request
// that was in flight when its address moved to another node (a switch of
// the client's neighbour entry, or of the router's next hops) is counted
// apart: the rest of its connection reached a node that knows nothing of
// it, which resets or drops it. That is inherent to moving an address
// (l2.SwitchReset), not a gap in the announcements, which shows as
// failures away from any switch.
func requireNoFailures(t testing.TB, what string, s probe.Summary, samples []probe.Sample, switches []time.Time) {
	t.Helper()
	straddles := func(x probe.Sample) bool {
		for _, sw := range switches {
			if !sw.Before(x.Start) && sw.Before(x.Start.Add(probeTimeout+50*time.Millisecond)) {
				return true
			}
		}
		return false
	}
	var lost, cut []string
	for _, x := range samples {
		switch {
		case x.OK():
		case straddles(x) || l2.SwitchReset(x):
			cut = append(cut, x.Start.Format("15:04:05.000"))
		default:
			lost = append(lost, fmt.Sprintf("%s %s", x.Start.Format("15:04:05.000"), x.Err))
		}
	}
	t.Logf("%s: %d probes, %d lost, %d owner switches, %d cut by a switch %v, answers by backend %v",
		what, s.Total, len(lost), len(switches), len(cut), cut, s.ByNode)
	if s.Total < 50 {
		t.Errorf("%s: only %d probes ran", what, s.Total)
	}
	if len(lost) > 0 {
		t.Errorf("%s: %d of %d probes lost: %v", what, len(lost), s.Total, lost)
	}
}

// announcer returns the node whose MAC the client's neighbour table holds
// for ip, after making the client resolve it.
func (e *env) announcer(ctx context.Context, ip netip.Addr) (string, error) {
	if _, err := e.get(ctx, "client", ip); err != nil {
		return "", err
	}
	return e.c.Announcer(ctx, ip)
}

// nextHops returns the nodes the router's kernel routes dst through.
func (e *env) nextHops(ctx context.Context, dst netip.Addr) ([]string, error) {
	rs, err := e.c.KernelRoutes(ctx, "router")
	if err != nil {
		return nil, err
	}
	r, ok := routers.KernelRouteTo(rs, netip.PrefixFrom(dst, dst.BitLen()))
	if !ok {
		return nil, nil
	}
	var out []string
	for _, gw := range r.NextHops {
		if h, ok := e.c.Topo.HostByAddr(gw); ok {
			out = append(out, h.Name)
		} else {
			out = append(out, gw.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// jsonOut runs kubectl with -o json and decodes the result into v.
func (e *env) jsonOut(t testing.TB, v any, args ...string) {
	t.Helper()
	out := e.kubectl(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode kubectl %v: %v", args, err)
	}
}

// probes are running probers, each with a watcher of who announces its
// address, by description.
type probes map[string]*watchedProbe

// watchedProbe is a prober of one address and the moments its announcer
// changed (the client's neighbour entry for L2, the router's next hops
// for BGP).
type watchedProbe struct {
	stop     func() (probe.Summary, []probe.Sample)
	mu       sync.Mutex
	switches []time.Time
	done     chan struct{}
	cancel   context.CancelFunc
}

// settle waits until the cluster is whole again after an earlier case: a
// ready speaker on every node, the web backends ready, every node a next
// hop of web-bgp's addresses, and 20 requests in a row through each
// address answered.
func (e *env) settle(t testing.TB) {
	t.Helper()
	e.waitRollout(t, "demo", "deployment/web")
	all := e.c.NodeNames()
	l2, bgp := e.ingress(t, "demo", "web-l2", 2), e.ingress(t, "demo", "web-bgp", 2)
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		speakers, err := e.readyPods(ctx, "pylon-system", "app.kubernetes.io/component=speaker")
		if err != nil || len(speakers) != len(all) {
			return false, fmt.Errorf("%d ready speakers (%v)", len(speakers), err)
		}
		for _, ip := range bgp {
			if hops, err := e.nextHops(ctx, ip); err != nil || !slices.Equal(hops, all) {
				return false, fmt.Errorf("%s routed over %v (%v)", ip, hops, err)
			}
		}
		for host, ips := range map[string][]netip.Addr{"client": l2, "outside": bgp} {
			for _, ip := range ips {
				for range 20 {
					if _, err := e.get(ctx, host, ip); err != nil {
						return false, err
					}
				}
			}
		}
		return true, nil
	}, "the cluster settles")
}

// probeAll probes both addresses of web-l2 from the client and both of
// web-bgp from the outside host, every 10 ms each, and watches who
// announces each address (every 20 ms, one read per host).
func (e *env) probeAll(t testing.TB) probes {
	t.Helper()
	out := probes{}
	for host, svc := range map[string]string{"client": "web-l2", "outside": "web-bgp"} {
		ips := e.ingress(t, "demo", svc, 2)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		ws := map[netip.Addr]*watchedProbe{}
		for _, ip := range ips {
			ws[ip] = &watchedProbe{stop: e.prober(t, host, ip), done: make(chan struct{}), cancel: cancel}
			out[fmt.Sprintf("%s → %s (%s)", host, ip, svc)] = ws[ip]
		}
		go e.watchAnnouncers(ctx, host, ws)
	}
	return out
}

// watchAnnouncers records, until ctx ends, when the announcer of each
// address changes: the client's neighbour entry (L2) or the router's next
// hops (BGP, host "outside").
func (e *env) watchAnnouncers(ctx context.Context, host string, ws map[netip.Addr]*watchedProbe) {
	defer func() {
		for _, w := range ws {
			close(w.done)
		}
	}()
	last := map[netip.Addr]string{}
	for ctx.Err() == nil {
		cur := map[netip.Addr]string{}
		if host == "outside" {
			if rs, err := e.c.KernelRoutes(ctx, "router"); err == nil {
				for ip := range ws {
					if r, ok := routers.KernelRouteTo(rs, netip.PrefixFrom(ip, ip.BitLen())); ok {
						cur[ip] = fmt.Sprint(r.NextHops)
					}
				}
			}
		} else if ns, err := probe.Neighbors(ctx, e.c.Client().NS, "eth0"); err == nil {
			for ip := range ws {
				if n, ok := probe.NeighborOf(ns, ip); ok && n.Resolved() {
					cur[ip] = n.MAC.String()
				}
			}
		}
		now := time.Now()
		for ip, w := range ws {
			if c := cur[ip]; c != "" {
				if l := last[ip]; l != "" && l != c {
					w.mu.Lock()
					w.switches = append(w.switches, now)
					w.mu.Unlock()
				}
				last[ip] = c
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// settleAndCheck lets the probes run a little longer, stops them and fails
// t for every lost request, and with stayPut for any address that moved.
func (p probes) settleAndCheck(t testing.TB, stayPut bool) {
	t.Helper()
	time.Sleep(2 * time.Second) // probes after the last change
	for _, name := range slices.Sorted(maps.Keys(p)) {
		w := p[name]
		sum, samples := w.stop()
		w.cancel()
		<-w.done // (the host's watcher closes every done of its probes)
		requireNoFailures(t, name, sum, samples, w.switches)
		if stayPut && len(w.switches) > 0 {
			t.Errorf("%s: the address moved %d times; a rolling update must leave it where it is", name, len(w.switches))
		}
	}
}

// l2Owner returns the node the Service's ServiceL2Status names, once
// there is one.
func (e *env) l2Owner(t testing.TB, ns, name string) string {
	t.Helper()
	var node string
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		out, err := e.c.Kubectl(ctx, "get", "servicel2status", "-n", ns, name, "-o", "jsonpath={.status.node}")
		node = string(out)
		return err == nil && node != "", nil
	}, "ServiceL2Status %s/%s names a node", ns, name)
	return node
}

// healthCheckPort returns the health check node port kube-proxy serves
// for a Local Service.
func (e *env) healthCheckPort(t testing.TB, ns, name string) int {
	t.Helper()
	svc, err := e.c.Admin.Kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Fatalf("Service %s/%s has no health check node port", ns, name)
	}
	return int(svc.Spec.HealthCheckNodePort)
}

// healthyNodes returns the nodes whose kube-proxy answers 200 on the
// health check node port (asked from the client, as a router or load
// balancer in front of the nodes would).
func (e *env) healthyNodes(ctx context.Context, port int) ([]string, error) {
	client := probe.NewHTTPClient(e.c.Client().NS, 2*time.Second)
	var out []string
	for _, n := range e.c.Topo.Nodes() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, probe.URL(n.IPv4(), port), nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("health check of %s: %w", n.Name, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			out = append(out, n.Name)
		}
	}
	return out, nil
}
