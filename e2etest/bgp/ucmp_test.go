//go:build e2e

package bgp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// ucmpConnections is how many connections measure a traffic split, and
// ucmpTolerance how far (in percentage points) a node's share may be from
// its share of the endpoints.
const (
	ucmpConnections = 1000
	ucmpTolerance   = 10.0
)

// testUCMP: with weightByEndpoints, each node's path of a Local Service
// carries link bandwidth in proportion to its ready endpoints; FRR turns
// it into next-hop weights in the router's kernel route, traffic from
// outside splits accordingly, and new endpoint counts change the weights
// while the route stays in place (never withdrawn).
func testUCMP(t *testing.T, e *env) {
	e.hashL4(t, "router")
	e.apply(t, adv("weighted", "{ipAddressPools: [main], weightByEndpoints: true}"))
	all := e.l.NodeNames()
	ips := e.service(t, svc{name: "ucmp", families: dualStack, local: true, ready: all})
	counts := map[string]int{"node1": 1, "node2": 2, "node3": 3}
	e.setReadyCount(t, "ucmp", counts)
	for _, ip := range ips {
		e.serve(t, ip)
		e.waitLinkBandwidth(t, host(ip), counts)
		e.waitWeights(t, host(ip), counts)
		e.checkSplit(t, ip, counts)
	}

	// While the counts change: the router's kernel routes stay via every
	// node, and a client probing every 10 ms sees no failure other than
	// connections in flight when the weights changed.
	w := e.watchRoutes(t, ips, all)
	prober, err := e.l.NewProber("outside", ips[0])
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProbe := context.WithCancel(context.Background())
	probed := make(chan error, 1)
	go func() { probed <- prober.Run(pctx) }()
	w.waitSamples(t, 5)
	counts = map[string]int{"node1": 4, "node2": 1, "node3": 1}
	e.setReadyCount(t, "ucmp", counts)
	for _, ip := range ips {
		e.waitWeights(t, host(ip), counts)
	}
	w.waitSamples(t, w.count()+5)
	stopProbe()
	if err := <-probed; err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
	gaps, changes := w.stop(t)
	// A new weight moves the boundaries of the kernel's hash-threshold
	// regions: a connection in flight at that moment may move to another
	// node, which resets it. That is ECMP, not a withdrawn route; counted
	// apart, as in the graceful-shutdown case.
	var failed, rehashed int
	samples := prober.Samples()
	for _, s := range samples {
		switch {
		case s.OK():
		case inFlightAt(s.Start, changes):
			rehashed++
		default:
			failed++
			t.Logf("probe at %s failed: %s", s.Start.Format("15:04:05.000"), s.Err)
		}
	}
	t.Logf("during the change: %d probes from outside, %d failed, %d more were in flight when the route's weights changed (%d changes)",
		len(samples), failed, rehashed, len(changes))
	if failed > 0 {
		t.Errorf("%d of %d probes failed while the weights changed", failed, len(samples))
	}
	if len(gaps) > 0 {
		t.Errorf("while the weights changed, the router's route was not via every node %d times: %v", len(gaps), gaps)
	}
	e.checkSplit(t, ips[0], counts)
}

// hashL4 makes host's kernel hash L4 ports into multipath decisions (both
// families) until t ends, so one client's connections spread over the
// next hops.
func (e *env) hashL4(t testing.TB, hostName string) {
	t.Helper()
	ns := e.l.Topo.MustHost(hostName).NS
	set := func(v string) error {
		return ns.Sysctl([2]string{"net.ipv4.fib_multipath_hash_policy", v}, [2]string{"net.ipv6.fib_multipath_hash_policy", v})
	}
	if err := set("1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set("0"); err != nil {
			t.Error(err)
		}
	})
}

// setReadyCount replaces a Service's endpoints: count[node] ready
// endpoints on each node, each in both families.
func (e *env) setReadyCount(t testing.TB, name string, count map[string]int) {
	t.Helper()
	var eps []kube.Endpoint
	for i, n := range e.l.NodeNames() {
		for j := range count[n] {
			v4 := netip.AddrFrom4([4]byte{10, 244, byte(i + 1), byte(j + 1)})
			v6 := netip.AddrFrom16([16]byte{0xfd, 0, 2, 0x44, 14: byte(i + 1), 15: byte(j + 1)})
			eps = append(eps, kube.Endpoint{Node: n, Addr: v4, Ready: true}, kube.Endpoint{Node: n, Addr: v6, Ready: true})
		}
	}
	if err := e.l.Admin.SetEndpoints(ctx(t), types.NamespacedName{Namespace: "default", Name: name}, eps); err != nil {
		t.Fatal(err)
	}
}

// shares returns each key's share of the total, in percent.
func shares[K comparable](m map[K]int) map[K]float64 {
	total := 0
	for _, v := range m {
		total += v
	}
	out := map[K]float64{}
	for k, v := range m {
		out[k] = 100 * float64(v) / float64(total)
	}
	return out
}

// waitLinkBandwidth waits until every path of dst at FRR carries link
// bandwidth of 1 Mbit/s per ready endpoint on the node that sent it.
func (e *env) waitLinkBandwidth(t testing.TB, dst netip.Prefix, count map[string]int) {
	t.Helper()
	byAddr := map[netip.Addr]string{}
	for _, n := range e.l.NodeNames() {
		byAddr[e.l.Node(n).IPv4()], byAddr[e.l.Node(n).IPv6()] = n, n
	}
	var seen []string
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := e.frr.RouteDetail(ctx, dst.String())
		if err != nil {
			return false, err
		}
		seen = nil
		// One path per node: each session carries its own family.
		return checkPaths(rs, len(count), func(r routers.Route) error {
			n := byAddr[r.Peer]
			want := fmt.Sprintf("LB:%d:%d (%d.000 Mbps)", 64501, 125_000*count[n], count[n])
			seen = append(seen, n+" "+r.ExtendedCommunities)
			if !strings.Contains(r.ExtendedCommunities, want) {
				return fmt.Errorf("path from %s (%s) has extended communities %q, want %q", r.Peer, n, r.ExtendedCommunities, want)
			}
			return nil
		})
	}, "FRR's paths of %s carry link bandwidth following endpoints %v", dst, count)
	slices.Sort(seen)
	t.Logf("FRR's paths of %s: %q", dst, slices.Compact(seen))
}

// waitWeights waits until the router's kernel routes dst via every node in
// count with next-hop weights proportional to the counts (each node's
// share of the weight within 2 points of its share of the endpoints: FRR
// rounds weights to whole percents).
func (e *env) waitWeights(t testing.TB, dst netip.Prefix, count map[string]int) {
	t.Helper()
	want := shares(count)
	var seen map[netip.Addr]int
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := e.l.KernelRoutes(ctx, "router")
		if err != nil {
			return false, err
		}
		r, ok := routers.KernelRouteTo(rs, dst)
		if !ok {
			return false, fmt.Errorf("no route")
		}
		seen = r.Weights
		byNode := map[string]int{}
		for n := range count {
			w, ok := r.Weights[e.nodeAddrs(dst.Addr().Is6(), n)[0]]
			if !ok {
				return false, fmt.Errorf("weights %v: no next hop %s", r.Weights, n)
			}
			byNode[n] = w
		}
		got := shares(byNode)
		for n := range count {
			if math.Abs(got[n]-want[n]) > 2 {
				return false, fmt.Errorf("weights %v", byNode)
			}
		}
		return len(r.Weights) == len(count), nil
	}, "router's kernel routes %s with weights following endpoints %v", dst, count)
	t.Logf("router's kernel route %s: weights %v for endpoints %v", dst, seen, count)
}

// checkSplit opens ucmpConnections connections from outside to ip and
// checks each node's share of them is within ucmpTolerance points of its
// share of the endpoints.
func (e *env) checkSplit(t testing.TB, ip netip.Addr, count map[string]int) {
	t.Helper()
	client := probe.NewHTTPClient(e.l.Topo.MustHost("outside").NS, 2*time.Second)
	served := map[string]int{}
	for range ucmpConnections {
		node, err := probe.Get(ctx(t), client, ip, probe.DefaultPort)
		if err != nil {
			t.Fatalf("connection %d to %s: %v", len(served), ip, err)
		}
		served[node]++
	}
	got, want := shares(served), shares(count)
	t.Logf("%d connections to %s: served %v (%.1f%%), endpoints %v (%.1f%%)", ucmpConnections, ip, served, pct(got, e.l.NodeNames()), count, pct(want, e.l.NodeNames()))
	for n := range served {
		if _, ok := count[n]; !ok {
			t.Errorf("%s served %d connections to %s without endpoints", n, served[n], ip)
		}
	}
	for n, w := range want {
		if math.Abs(got[n]-w) > ucmpTolerance {
			t.Errorf("%s served %.1f%% of the connections to %s, want %.1f%% ± %.0f", n, got[n], ip, w, ucmpTolerance)
		}
	}
}

// pct lists shares in node order.
func pct(m map[string]float64, order []string) []float64 {
	var out []float64
	for _, n := range order {
		out = append(out, math.Round(m[n]*10)/10)
	}
	return out
}

// routeWatch polls the router's kernel routes to some IPs and records
// every sample where one of them is missing or not via all the nodes, and
// when the first IP's route (next hops or weights) changed.
type routeWatch struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	gaps    []string
	changes []time.Time
	samples int
}

// watchRoutes starts watching the router's routes to ips (via nodes)
// until stop.
func (e *env) watchRoutes(t testing.TB, ips []netip.Addr, nodes []string) *routeWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &routeWatch{cancel: cancel}
	t.Cleanup(cancel)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		var last string
		for ctx.Err() == nil {
			if rs, err := e.l.KernelRoutes(ctx, "router"); err == nil { // else cancelled
				var gaps []string
				for _, ip := range ips {
					r, ok := routers.KernelRouteTo(rs, host(ip))
					if want := e.nodeAddrs(ip.Is6(), nodes...); !ok || !slices.Equal(r.NextHops, want) {
						gaps = append(gaps, fmt.Sprintf("%s via %v", ip, r.NextHops))
					}
				}
				first, _ := routers.KernelRouteTo(rs, host(ips[0]))
				cur := fmt.Sprint(first.NextHops, first.Weights)
				w.mu.Lock()
				if last != "" && cur != last {
					w.changes = append(w.changes, time.Now())
				}
				last = cur
				w.samples++
				w.gaps = append(w.gaps, gaps...)
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return w
}

// count is the number of samples so far.
func (w *routeWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// waitSamples waits until the watch has taken n samples.
func (w *routeWatch) waitSamples(t testing.TB, n int) {
	t.Helper()
	err := wait.For(context.Background(), 30*time.Second, 10*time.Millisecond, func(context.Context) (bool, error) {
		return w.count() >= n, nil
	})
	if err != nil {
		t.Fatalf("route watch: %d samples, want %d: %v", w.count(), n, err)
	}
}

// stop ends the watch and returns the samples' gaps and the times the
// first IP's route changed.
func (w *routeWatch) stop(t testing.TB) (gaps []string, changes []time.Time) {
	w.cancel()
	w.wg.Wait()
	t.Logf("route watch: %d samples of the router's kernel routes", w.samples)
	return w.gaps, w.changes
}
