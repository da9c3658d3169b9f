package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// clusterScenarios lists the benchmarks on the real cluster (package
// cluster): Pylon installed by its chart, as pods.
func clusterScenarios() []Scenario {
	return []Scenario{
		{
			Name:        "cluster-up",
			Description: "real cluster up from cached builds (control plane, 3 workers Ready), then Pylon by helm install until every pod is ready",
			Run:         runClusterUp,
		},
		{
			Name:        "cluster-l2-failover",
			Description: "cluster: L2 hard failover (the announcing node powered off and its link cut); outage seen by a client probing HTTP every 10 ms; backends on another node",
			Run:         runClusterFailover,
		},
		{
			Name:        "cluster-l2-handover",
			Description: "cluster: L2 graceful hand-over (the announcing speaker's pod deleted, not a rolling update): lost probes, and time until the client's neighbour entry names another owner",
			Run:         runClusterHandover,
		},
		{
			Name:        "cluster-rollout",
			Description: "cluster: kubectl rollout restart of the speakers while a client probes an L2 address every 10 ms: lost probes, and whether the address moved",
			Run:         runClusterRollout,
		},
		{
			Name:        "cluster-memory",
			Description: "cluster: speaker and controller memory as the kubelet reports it (container working set), idle and with 1,000 L2 Services",
			Run:         runClusterMemory,
		},
	}
}

// Cluster brings up a cluster for the scenario (closed when it returns):
// FRR on the router, Pylon installed by helm, the sample configuration.
func (e *Env) Cluster(ctx context.Context, install bool) (*cluster.Cluster, error) {
	opts := cluster.Options{Lab: e.LabOptions}
	if opts.Lab.Logger == nil {
		opts.Lab.Logger = e.Log
	}
	c, err := cluster.Up(ctx, opts)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.clusters = append(e.clusters, c)
	e.mu.Unlock()
	if !install {
		return c, nil
	}
	if _, err := c.StartRouter(ctx); err != nil {
		return c, err
	}
	if err := c.InstallChart(ctx); err != nil {
		return c, err
	}
	return c, c.Apply(ctx, cluster.SampleConfig)
}

func runClusterUp(ctx context.Context, env *Env) ([]Figure, error) {
	var up, installed []time.Duration
	var last cluster.Timings
	for i := range env.Trials(3) {
		t0 := time.Now()
		c, err := env.Cluster(ctx, false)
		if err != nil {
			return nil, err
		}
		up = append(up, c.Timings.Total)
		if err := c.InstallChart(ctx); err != nil {
			return nil, err
		}
		installed = append(installed, time.Since(t0))
		last = c.Timings
		env.Printf("trial %d: cluster up in %v (lab %v, nodes started %v, Ready after %v), Pylon ready after %v", i+1,
			c.Timings.Total.Round(time.Millisecond), c.Timings.Lab.Round(time.Millisecond), c.Timings.Nodes.Round(time.Millisecond),
			c.Timings.NodesReady.Round(time.Millisecond), installed[i].Round(time.Millisecond))
		if err := env.closeLabs(ctx); err != nil {
			return nil, err
		}
	}
	u, in := Summarize(up), Summarize(installed)
	return []Figure{
		{Name: "Real cluster up from cached builds (3 workers Ready, p50)", Value: Seconds(u.P50), Unit: "s",
			Spread: u.Spread(time.Second), Target: "≤ 60 s", Pass: Met(u.P50 <= time.Minute),
			Note: fmt.Sprintf("last trial: lab (network, etcd, API server) %v, workers started %v", last.Lab.Round(time.Millisecond), last.Nodes.Round(time.Millisecond))},
		{Name: "… and Pylon installed by helm, every pod ready (p50)", Value: Seconds(in.P50), Unit: "s", Spread: in.Spread(time.Second)},
	}, nil
}

// pinnedBackends renders backends that run on node only, so that the
// announcing node's death does not take a backend with it: the outage is
// Pylon's alone.
func pinnedBackends(name, node string, replicas int) string {
	return strings.Replace(cluster.Backends(name, replicas), "    spec:\n", "    spec:\n      nodeSelector: {kubernetes.io/hostname: "+node+"}\n", 1)
}

// failoverCluster brings up a cluster with Pylon for the L2 scenarios
// (see failoverSetup).
func failoverCluster(ctx context.Context, env *Env) (*cluster.Cluster, netip.Addr, string, error) {
	c, err := env.Cluster(ctx, true)
	if err != nil {
		return nil, netip.Addr{}, "", err
	}
	ip, owner, err := failoverSetup(ctx, c)
	return c, ip, owner, err
}

// ownerBack waits until owner's speaker has been ready for readyFor and
// the client reaches ip through owner again.
func ownerBack(ctx context.Context, c *cluster.Cluster, ip netip.Addr, owner string, readyFor time.Duration) error {
	if err := wait.For(ctx, 2*time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		return speakerReadyFor(ctx, c, owner, readyFor)
	}); err != nil {
		return fmt.Errorf("%s's speaker: %w", owner, err)
	}
	if err := settleOwner(ctx, c, ip, owner); err != nil {
		return fmt.Errorf("%s takes %s back: %w", owner, ip, err)
	}
	return nil
}

// failoverSetup prepares a cluster for the L2 fail-over scenarios: two
// backends on node3 and a Service whose address the election gives to
// node1 or node2. It returns the address and its owner.
func failoverSetup(ctx context.Context, c *cluster.Cluster) (netip.Addr, string, error) {
	var ip netip.Addr
	owner := ""
	for a := netip.MustParseAddr("192.168.77.160"); a.Less(netip.MustParseAddr("192.168.77.190")); a = a.Next() {
		if o, _ := l2.Owner([]netip.Addr{a}, c.NodeNames()); o != "node3" {
			ip, owner = a, o
			break
		}
	}
	svc := strings.Replace(cluster.LoadBalancer("failover", "pinned", "lan", false),
		"annotations: {pylonlb.io/address-pool: lan}", "annotations: {pylonlb.io/loadBalancerIPs: \""+ip.String()+"\"}", 1)
	svc = strings.Replace(svc, "ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]", "ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]", 1)
	if err := c.Apply(ctx, cluster.Docs(cluster.DemoNamespace, pinnedBackends("pinned", "node3", 2), svc)); err != nil {
		return ip, owner, err
	}
	if _, err := c.Kubectl(ctx, "rollout", "status", "-n", "demo", "deployment/pinned", "--timeout=2m"); err != nil {
		return ip, owner, err
	}
	return ip, owner, settleOwner(ctx, c, ip, owner)
}

// settleOwner waits until the client reaches ip through owner.
func settleOwner(ctx context.Context, c *cluster.Cluster, ip netip.Addr, owner string) error {
	return wait.For(ctx, 2*time.Minute, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		if _, err := c.HTTP(ctx, "client", ip); err != nil {
			return false, nil
		}
		got, err := c.Announcer(ctx, ip)
		return err == nil && got == owner, nil
	})
}

// speakerReadyFor reports whether node's speaker pod has been ready for
// at least d: a speaker that just started sends gratuitous ARP for a few
// seconds, and a client ignores another node's for a second after each
// (neighbour locktime), which would time the next hand-over wrong.
func speakerReadyFor(ctx context.Context, c *cluster.Cluster, node string, d time.Duration) (bool, error) {
	pods, err := c.Admin.Kube.CoreV1().Pods("pylon-system").List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/component=speaker", FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return false, err
	}
	for _, p := range pods.Items {
		for _, cond := range p.Status.Conditions {
			if p.DeletionTimestamp == nil && cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue &&
				time.Since(cond.LastTransitionTime.Time) >= d {
				return true, nil
			}
		}
	}
	return false, nil
}

// probeAround probes ip from the client, runs fault once the probes
// answer, and stops once afterAnswers probes answered after it.
func probeAround(ctx context.Context, c *cluster.Cluster, ip netip.Addr, fault func() error) (time.Time, []probe.Sample, error) {
	p, err := c.NewProber("client", ip)
	if err != nil {
		return time.Time{}, nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx) }()
	defer func() { cancel(); <-done }()
	okSince := func(t time.Time) int {
		n := 0
		for _, s := range p.Samples() {
			if s.OK() && !s.Start.Before(t) {
				n++
			}
		}
		return n
	}
	if err := wait.For(ctx, 30*time.Second, 10*time.Millisecond, func(context.Context) (bool, error) {
		return okSince(time.Time{}) >= warmAnswers, nil
	}); err != nil {
		return time.Time{}, nil, fmt.Errorf("probes before the fault: %w", err)
	}
	at := time.Now()
	if err := fault(); err != nil {
		return at, nil, err
	}
	err = wait.For(ctx, time.Minute, 10*time.Millisecond, func(context.Context) (bool, error) {
		return okSince(at) >= afterAnswers, nil
	})
	cancel()
	<-done
	return at, p.Samples(), err
}

func runClusterFailover(ctx context.Context, env *Env) ([]Figure, error) {
	c, ip, owner, err := failoverCluster(ctx, env)
	if err != nil {
		return nil, err
	}
	n := env.Trials(5)
	env.Printf("%d trials on %s, owned by %s (cluster %s)", n, ip, owner, c.ID)
	var outages []time.Duration
	for i := range n {
		at, samples, err := probeAround(ctx, c, ip, func() error {
			return errors.Join(c.CutLink(ctx, owner), c.StopNode(ctx, owner))
		})
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		o := faultTrial{at: at, samples: samples}.outage()
		outages = append(outages, o)
		env.Printf("trial %d: outage %v", i+1, o.Round(time.Millisecond))
		if err := errors.Join(c.RestoreLink(ctx, owner), c.StartNode(ctx, owner), c.WaitNodesReady(ctx, 2*time.Minute)); err != nil {
			return nil, fmt.Errorf("trial %d: restore %s: %w", i+1, owner, err)
		}
		if err := ownerBack(ctx, c, ip, owner, 0); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
	}
	s := Summarize(outages)
	return []Figure{
		{Name: "Cluster: L2 hard failover outage (p50)", Value: Millis(s.P50), Unit: "ms", Spread: s.Spread(time.Millisecond),
			MetalLB: "5.43 s", Target: "≤ 1.0 s (next: ≤ 0.2 s)", Pass: Met(s.P50 <= time.Second)},
		{Name: "Cluster: L2 hard failover outage (max)", Value: Millis(s.Max), Unit: "ms",
			Target: "≤ 2.0 s (next: ≤ 0.3 s)", Pass: Met(s.Max <= 2*time.Second)},
	}, nil
}

func runClusterHandover(ctx context.Context, env *Env) ([]Figure, error) {
	c, ip, owner, err := failoverCluster(ctx, env)
	if err != nil {
		return nil, err
	}
	n := env.Trials(10)
	env.Printf("%d trials on %s, owned by %s (cluster %s)", n, ip, owner, c.ID)
	var moves []time.Duration
	lost, resets := 0, 0
	for i := range n {
		var moved time.Duration
		at, samples, err := probeAround(ctx, c, ip, func() error {
			t0 := time.Now()
			if _, err := c.Kubectl(ctx, "delete", "pod", "-n", "pylon-system", "-l", "app.kubernetes.io/component=speaker",
				"--field-selector", "spec.nodeName="+owner, "--wait=false"); err != nil {
				return err
			}
			// The DaemonSet starts a replacement within a second or two, which
			// takes the address back: the hand-over is the first change.
			return wait.For(ctx, 30*time.Second, 2*time.Millisecond, func(ctx context.Context) (bool, error) {
				got, err := c.Announcer(ctx, ip)
				if err == nil && got != owner {
					moved = time.Since(t0)
				}
				return moved > 0, nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		tl, tr := 0, 0
		for _, s := range samples {
			switch {
			case s.OK() || s.Start.Before(at):
			case l2.SwitchReset(s):
				tr++
			default:
				tl++
			}
		}
		lost, resets = lost+tl, resets+tr
		moves = append(moves, moved)
		env.Printf("trial %d: another owner in the client's table %v after the delete; %d lost, %d reset at a switch", i+1, moved.Round(time.Millisecond), tl, tr)
		if err := ownerBack(ctx, c, ip, owner, 6*time.Second); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
	}
	s := Summarize(moves)
	return []Figure{
		{Name: "Cluster: L2 hand-over, lost probes (all trials)", Value: float64(lost), Unit: "probes",
			MetalLB: "0", Target: "0", Pass: Met(lost == 0),
			Note: fmt.Sprintf("%d more reset as the address switched nodes mid-connection (inherent to moving an address)", resets)},
		{Name: "Cluster: L2 hand-over, pod deleted → another owner in the client's table (p50)", Value: Millis(s.P50), Unit: "ms",
			Spread: s.Spread(time.Millisecond), MetalLB: "77 ms (SIGTERM → new owner)",
			Note: "from the API delete: includes the API server, the kubelet stopping the container, and SIGTERM → drain; the replacement pod takes the address back a second later"},
	}, nil
}

// workingSets reads the kubelets' summaries and returns the working set
// of every container of Pylon's pods, by "pod/container".
func workingSets(ctx context.Context, c *cluster.Cluster) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, n := range c.NodeNames() {
		b, err := c.Admin.Kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", n, "proxy", "stats", "summary").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("summary of %s: %w", n, err)
		}
		var sum struct {
			Pods []struct {
				PodRef     struct{ Name, Namespace string }
				Containers []struct {
					Name   string
					Memory struct {
						WorkingSetBytes *uint64 `json:"workingSetBytes"`
					}
				}
			}
		}
		if err := json.Unmarshal(b, &sum); err != nil {
			return nil, fmt.Errorf("summary of %s: %w", n, err)
		}
		for _, p := range sum.Pods {
			if p.PodRef.Namespace != "pylon-system" {
				continue
			}
			for _, ct := range p.Containers {
				if ct.Memory.WorkingSetBytes != nil {
					out[p.PodRef.Name+"/"+ct.Name] = *ct.Memory.WorkingSetBytes
				}
			}
		}
	}
	return out, nil
}

// maxOf returns the largest working set of the containers named name.
func maxOf(ws map[string]uint64, name string) uint64 {
	var m uint64
	for k, v := range ws {
		if strings.HasSuffix(k, "/"+name) && v > m {
			m = v
		}
	}
	return m
}

func runClusterMemory(ctx context.Context, env *Env) ([]Figure, error) {
	c, err := env.Cluster(ctx, true)
	if err != nil {
		return nil, err
	}
	const services = 1000
	bulk := `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bulk, namespace: pylon-system}
spec: {addresses: [10.77.0.0/22], autoAssign: false}
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: bulk, namespace: pylon-system}
spec: {ipAddressPools: [bulk]}
`
	if err := c.Apply(ctx, cluster.Docs(bulk, cluster.DemoNamespace, cluster.Backends("web", 3))); err != nil {
		return nil, err
	}
	if _, err := c.Kubectl(ctx, "rollout", "status", "-n", "demo", "deployment/web", "--timeout=2m"); err != nil {
		return nil, err
	}
	idle, err := workingSets(ctx, c)
	if err != nil {
		return nil, err
	}
	env.Printf("idle working sets: %v", renderSets(idle))
	t0 := time.Now()
	if err := createBulk(ctx, c, services); err != nil {
		return nil, err
	}
	var assigned time.Duration
	err = wait.For(ctx, 5*time.Minute, time.Second, func(ctx context.Context) (bool, error) {
		l, err := c.Admin.Kube.CoreV1().Services("demo").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		n := 0
		for _, s := range l.Items {
			if len(s.Status.LoadBalancer.Ingress) > 0 {
				n++
			}
		}
		assigned = time.Since(t0)
		return n >= services, nil
	})
	if err != nil {
		return nil, fmt.Errorf("1,000 Services get addresses: %w", err)
	}
	env.Printf("1,000 Services created and assigned in %v; waiting for their L2 statuses (paced writes trail)", assigned.Round(time.Second))
	err = wait.For(ctx, 5*time.Minute, time.Second, func(ctx context.Context) (bool, error) {
		out, err := c.Kubectl(ctx, "get", "servicel2statuses", "-n", "demo", "-o", "name")
		return err == nil && strings.Count(string(out), "\n") >= services, nil
	})
	if err != nil {
		return nil, fmt.Errorf("1,000 L2 statuses: %w", err)
	}
	loaded, err := workingSets(ctx, c)
	if err != nil {
		return nil, err
	}
	env.Printf("working sets with 1,000 Services: %v", renderSets(loaded))
	sp, ct := maxOf(loaded, "speaker"), maxOf(loaded, "controller")
	spIdle, ctIdle := maxOf(idle, "speaker"), maxOf(idle, "controller")
	perSvc := func(a, b uint64) float64 { return (float64(a) - float64(b)) / services / 1024 }
	return []Figure{
		{Name: "Cluster: speaker working set with 1,000 L2 Services (largest)", Value: float64(sp) / mib, Unit: "MiB",
			MetalLB: "98–113 MiB (RSS)", Target: "≤ 50 MiB", Pass: Met(sp <= 50<<20),
			Note: fmt.Sprintf("idle %.1f MiB; %.1f KiB per Service", float64(spIdle)/mib, perSvc(sp, spIdle))},
		{Name: "Cluster: controller working set with 1,000 Services (largest replica)", Value: float64(ct) / mib, Unit: "MiB",
			MetalLB: "74–89 MiB (RSS)", Target: "≤ 40 MiB", Pass: Met(ct <= 40<<20),
			Note: fmt.Sprintf("idle %.1f MiB; %.1f KiB per Service", float64(ctIdle)/mib, perSvc(ct, ctIdle))},
	}, nil
}

// createBulk creates n LoadBalancer Services in the bulk pool, selecting
// the web backends, with 4 clients.
func createBulk(ctx context.Context, c *cluster.Cluster, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: fmt.Sprintf("bulk-%04d", i),
						Annotations: map[string]string{"pylonlb.io/address-pool": "bulk"}},
					Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
						Ports: []corev1.ServicePort{{Port: 80, Name: "http"}}},
				}
				if _, err := c.Admin.Kube.CoreV1().Services("demo").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs[w] = fmt.Errorf("create %s: %w", types.NamespacedName{Namespace: "demo", Name: svc.Name}, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// renderSets renders working sets in MiB.
func renderSets(ws map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ws)) {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(ws[k])/mib))
	}
	return strings.Join(parts, ", ") + " (MiB)"
}

func runClusterRollout(ctx context.Context, env *Env) ([]Figure, error) {
	c, ip, owner, err := failoverCluster(ctx, env)
	if err != nil {
		return nil, err
	}
	n := env.Trials(3)
	env.Printf("%d rollouts with %s owned by %s (cluster %s)", n, ip, owner, c.ID)
	lost, moved := 0, 0
	var took []time.Duration
	for i := range n {
		var owners []string
		t0 := time.Now()
		_, samples, err := probeAround(ctx, c, ip, func() error {
			if _, err := c.Kubectl(ctx, "rollout", "restart", "-n", "pylon-system", "daemonset/pylon-speaker"); err != nil {
				return err
			}
			return wait.For(ctx, 3*time.Minute, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
				if got, err := c.Announcer(ctx, ip); err == nil && (len(owners) == 0 || owners[len(owners)-1] != got) {
					owners = append(owners, got)
				}
				_, err := c.Kubectl(ctx, "rollout", "status", "-n", "pylon-system", "daemonset/pylon-speaker", "--timeout=1ms")
				return err == nil, nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("rollout %d: %w", i+1, err)
		}
		took = append(took, time.Since(t0))
		tl := 0
		for _, s := range samples {
			if !s.OK() {
				tl++
			}
		}
		lost, moved = lost+tl, moved+len(owners)-1
		env.Printf("rollout %d: %v, %d probes lost, owners seen %v", i+1, took[i].Round(time.Second), tl, owners)
	}
	return []Figure{
		{Name: "Cluster: rollout restart of every speaker, lost probes (all rollouts)", Value: float64(lost), Unit: "probes",
			Target: "0", Pass: Met(lost == 0)},
		{Name: "Cluster: rollout restart, times the address moved (all rollouts)", Value: float64(moved), Unit: "moves",
			Target: "0", Pass: Met(moved == 0), Note: fmt.Sprintf("a rollout took %v (p50)", Summarize(took).P50.Round(time.Second))},
	}, nil
}
