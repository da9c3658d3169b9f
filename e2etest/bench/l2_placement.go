package bench

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// placementSizes are the numbers of Services l2-placement spreads over
// the lab's 3 nodes.
var placementSizes = []int{3, 30, 300}

// placementPool holds the l2-placement Services' addresses (a benchmark
// range: ownership is read from the speakers' statuses, no traffic goes
// to them).
const placementPool = `---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-place}
spec:
  addresses: [198.18.0.0/23]
  autoAssign: false
`

// placementAdvertisement is the L2Advertisement of placementPool with a
// placement.
func placementAdvertisement(p v1beta1.L2Placement) string {
	return fmt.Sprintf(`apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: bench-place}
spec:
  ipAddressPools: [bench-place]
  placement: %s
`, p)
}

var serviceL2StatusGVR = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "servicel2statuses"}

// placementRun is what one placement measured for one size.
type placementRun struct {
	services  int
	placement v1beta1.L2Placement
	loads     map[string]int // Services per node, every node up
	// Other groups moved by each event: a Service added, one removed,
	// a node's link cut (the failed node's own groups not counted).
	movedAdd, movedRemove, movedNodeLoss int
	lossLoads                            map[string]int // Services per surviving node
}

// spread is max/mean of the loads.
func spread(loads map[string]int, nodes int) float64 {
	total, most := 0, 0
	for _, l := range loads {
		total += l
		most = max(most, l)
	}
	if total == 0 {
		return 0
	}
	return float64(most) / (float64(total) / float64(nodes))
}

// PlacementSizesEnv overrides placementSizes (comma-separated).
const PlacementSizesEnv = "PYLON_BENCH_PLACEMENT_SIZES"

func runL2Placement(ctx context.Context, env *Env) ([]Figure, error) {
	var runs []placementRun
	sizes := placementSizes
	if v := os.Getenv(PlacementSizesEnv); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s=%q: not a list of sizes", PlacementSizesEnv, v)
			}
			sizes = append(sizes, n)
		}
	}
	for _, m := range sizes {
		got, err := placementOnce(ctx, env, m)
		runs = append(runs, got...)
		if err != nil {
			return placementFigures(runs), fmt.Errorf("%d Services: %w", m, err)
		}
	}
	return placementFigures(runs), nil
}

// placementOnce brings a lab up with m Services and measures both
// placements in it.
func placementOnce(ctx context.Context, env *Env, m int) ([]placementRun, error) {
	b, err := startL2Lab(ctx, env, placementPool)
	if err != nil {
		return nil, err
	}
	defer b.l.Close(context.WithoutCancel(ctx))
	names := make([]string, m)
	for i := range names {
		names[i] = fmt.Sprintf("place-%03d", i)
	}
	bulk := Bulk{Namespace: benchNamespace, Names: names, Workers: 4,
		Annotations: map[string]string{v1beta1.AnnotationAddressPool: "bench-place"}, Endpoints: NodeEndpoints(b.l, false)}
	if _, _, err := bulk.Create(ctx, b.l.Admin.Kube); err != nil {
		return nil, err
	}
	var out []placementRun
	for _, p := range []v1beta1.L2Placement{v1beta1.L2PlacementHash, v1beta1.L2PlacementBalanced} {
		r, err := b.placementEvents(ctx, env, bulk, p)
		if err != nil {
			return out, fmt.Errorf("%s: %w", p, err)
		}
		env.Printf("%d Services, %s: loads %v (spread %.2f); other groups moved: %d on add, %d on remove, %d on node loss (survivors %v)",
			m, p, r.loads, spread(r.loads, 3), r.movedAdd, r.movedRemove, r.movedNodeLoss, r.lossLoads)
		out = append(out, r)
	}
	return out, nil
}

// placementEvents sets the placement and measures the spread and the
// moves of a Service added, one removed and a node lost.
func (b *l2Lab) placementEvents(ctx context.Context, env *Env, bulk Bulk, p v1beta1.L2Placement) (placementRun, error) {
	r := placementRun{services: len(bulk.Names), placement: p}
	if err := b.l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(placementAdvertisement(p))); err != nil {
		return r, err
	}
	nodes := b.l.NodeNames()
	base, err := b.settledOwners(ctx, bulk.Namespace, p, nodes)
	if err != nil {
		return r, err
	}
	r.loads = countLoads(base.owners)
	extra := Bulk{Namespace: bulk.Namespace, Names: []string{"place-extra"}, Workers: 1,
		Annotations: bulk.Annotations, Endpoints: bulk.Endpoints}
	if _, _, err := extra.Create(ctx, b.l.Admin.Kube); err != nil {
		return r, err
	}
	added, err := b.settledOwners(ctx, bulk.Namespace, p, nodes)
	if err != nil {
		return r, err
	}
	r.movedAdd = moved(base.owners, added.owners, "")
	victim := types.NamespacedName{Namespace: bulk.Namespace, Name: bulk.Names[0]}
	if err := b.l.Admin.DeleteService(ctx, victim); err != nil {
		return r, err
	}
	removed, err := b.settledOwners(ctx, bulk.Namespace, p, nodes)
	if err != nil {
		return r, err
	}
	r.movedRemove = moved(added.owners, removed.owners, "")
	lost := nodes[len(nodes)-1]
	if err := b.l.CutLink(ctx, lost); err != nil {
		return r, err
	}
	survivors := nodes[:len(nodes)-1]
	after, err := b.settledOwners(ctx, bulk.Namespace, p, survivors)
	if err != nil {
		return r, err
	}
	r.movedNodeLoss = moved(removed.owners, after.owners, lost)
	r.lossLoads = countLoads(after.owners)
	// Back to the starting point for the next placement.
	if err := b.l.RestoreLink(ctx, lost); err != nil {
		return r, err
	}
	if err := l2.WaitConverged(ctx, b.l, nodes, l2Settle); err != nil {
		return r, err
	}
	if err := b.l.Admin.DeleteService(ctx, types.NamespacedName{Namespace: bulk.Namespace, Name: "place-extra"}); err != nil {
		return r, err
	}
	_, _, err = Bulk{Namespace: bulk.Namespace, Names: []string{victim.Name}, Workers: 1,
		Annotations: bulk.Annotations, Endpoints: bulk.Endpoints}.Create(ctx, b.l.Admin.Kube)
	return r, err
}

// placementSettle bounds the wait for the statuses to name the new owners.
// Speakers pace their status writes and Events (20/s each, by design), and
// after a partition heals a speaker that claimed everything alone has
// hundreds queued: a switch of 300 Services right after needs minutes.
const placementSettle = 5 * time.Minute

// ownership is who announces each Service, by its address.
type ownership struct {
	owners map[string]string // address → node
}

// settledOwners waits until the ServiceL2Statuses of every Service of ns
// name the owner the placement predicts among live, and returns them.
func (b *l2Lab) settledOwners(ctx context.Context, ns string, p v1beta1.L2Placement, live []string) (ownership, error) {
	var got ownership
	var last string
	err := wait.For(ctx, placementSettle, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		svcs, err := b.l.Admin.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var sets [][]netip.Addr
		byName := map[string]string{} // Service → its address
		for _, s := range svcs.Items {
			for _, in := range s.Status.LoadBalancer.Ingress {
				if a, err := netip.ParseAddr(in.IP); err == nil {
					sets = append(sets, []netip.Addr{a})
					byName[s.Name] = a.String()
				}
			}
		}
		want := map[string]string{}
		if p == v1beta1.L2PlacementBalanced {
			want = l2.BalancedOwners(sets, live)
		} else {
			for _, set := range sets {
				want[set[0].String()], _ = l2.Owner(set, live)
			}
		}
		statuses, err := b.statusOwners(ctx, ns)
		if err != nil {
			return false, err
		}
		// A status can outlive its Service (a write queued by a speaker
		// cut off from the API can land after the delete): only the
		// statuses of the Services that exist, for their address, count.
		got.owners = map[string]string{}
		for name, ip := range byName {
			if st, ok := statuses[name]; ok && slices.Contains(st.ips, ip) {
				got.owners[ip] = st.node
			}
		}
		var wrong []string
		for ip, w := range want {
			if g := got.owners[ip]; g != w && len(wrong) < 5 {
				wrong = append(wrong, fmt.Sprintf("%s on %q, want %s", ip, g, w))
			}
		}
		last = fmt.Sprintf("%d Services, %d statuses of them (%d in all), want %d; e.g. %s", len(svcs.Items), len(got.owners),
			len(statuses), len(want), strings.Join(wrong, "; "))
		return len(sets) == len(svcs.Items) && maps.Equal(got.owners, want), nil
	})
	if err != nil {
		return got, fmt.Errorf("statuses naming the predicted owners (%s; speakers: %s): %w", last, b.speakerStates(ctx), err)
	}
	return got, nil
}

// speakerStates renders what each speaker sees: members, nodes its fast
// detector counts dead, addresses it owns.
func (b *l2Lab) speakerStates(ctx context.Context) string {
	var parts []string
	for _, n := range b.l.NodeNames() {
		var vals []string
		for _, m := range []string{"pylon_memberlist_members", "pylon_heartbeat_dead_nodes", "pylon_l2_addresses_owned"} {
			v, err := l2.SpeakerMetricSum(ctx, b.l, n, m)
			if err != nil {
				vals = append(vals, "?")
				continue
			}
			vals = append(vals, fmt.Sprint(v))
		}
		parts = append(parts, n+" members/dead/owned "+strings.Join(vals, "/"))
	}
	return strings.Join(parts, ", ")
}

// l2Status is what a ServiceL2Status says.
type l2Status struct {
	node string
	ips  []string
}

// statusOwners reads the ServiceL2Statuses of ns, by Service name.
func (b *l2Lab) statusOwners(ctx context.Context, ns string) (map[string]l2Status, error) {
	list, err := b.l.Admin.Dynamic.Resource(serviceL2StatusGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]l2Status{}
	for _, o := range list.Items {
		var st l2Status
		st.node, _, _ = unstructured.NestedString(o.Object, "status", "node")
		st.ips, _, _ = unstructured.NestedStringSlice(o.Object, "status", "ips")
		out[o.GetName()] = st
	}
	return out, nil
}

// countLoads counts addresses per node.
func countLoads(owners map[string]string) map[string]int {
	out := map[string]int{}
	for _, n := range owners {
		out[n]++
	}
	return out
}

// moved counts the addresses present before and after whose owner
// changed, leaving out those that were on exclude (a lost node).
func moved(before, after map[string]string, exclude string) int {
	n := 0
	for ip, was := range before {
		now, ok := after[ip]
		if ok && now != was && was != exclude {
			n++
		}
	}
	return n
}

func placementFigures(runs []placementRun) []Figure {
	var figs []Figure
	for _, r := range runs {
		label := fmt.Sprintf("%d Services on 3 nodes, %s", r.services, r.placement)
		bound := (5*r.services + 11) / 12 // ceil(1.25·m/3)
		figs = append(figs,
			Figure{Name: "L2 placement spread (max/mean), " + label, Value: spread(r.loads, 3), Unit: "×",
				Note: fmt.Sprintf("loads %s; Balanced bound %d", renderLoads(r.loads), bound)},
			Figure{Name: "L2 placement, other groups moved (add / remove a Service / lose a node), " + label,
				Value: float64(r.movedAdd + r.movedRemove + r.movedNodeLoss), Unit: "groups",
				Note: fmt.Sprintf("add %d, remove %d, node loss %d (survivors %s)", r.movedAdd, r.movedRemove, r.movedNodeLoss, renderLoads(r.lossLoads))})
	}
	return figs
}

// renderLoads prints loads in node order.
func renderLoads(loads map[string]int) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(loads)) {
		parts = append(parts, fmt.Sprintf("%s %d", n, loads[n]))
	}
	return strings.Join(parts, ", ")
}
