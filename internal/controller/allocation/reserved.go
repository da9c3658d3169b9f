package allocation

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cachetrim"
	"github.com/pylonlb/pylon/internal/model"
)

// Event reasons of reserved addresses.
const (
	// ReasonAddressesReserved (on an IPAddressPool): some of its addresses
	// are the network's own and are never handed out.
	ReasonAddressesReserved = "AddressesReserved"
	// ReasonReservedAddressHeld (on a Service): it holds an address that
	// became reserved, and keeps it.
	ReasonReservedAddressHeld = "ReservedAddressHeld"
)

// Condition types of the controller's ConfigurationState.
const (
	// ConditionAddressesReserved is True while pools contain addresses of
	// the network (Nodes, BGPPeers, subnet ends), which are never handed
	// out.
	ConditionAddressesReserved = "AddressesReserved"
	// ConditionReservedAddressesInUse is True while Services hold such
	// addresses (allocated before they became reserved).
	ConditionReservedAddressesInUse = "ReservedAddressesInUse"
)

// reservedKey is the request that refreshes the reserved addresses. No
// Service has an empty namespace, so it never names one.
var reservedKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "reserved-addresses"}}

// maxListed bounds the addresses named in one event or condition.
const maxListed = 10

// heldReserved is a reserved address that Services hold.
type heldReserved struct {
	model.Reservation
	holders []string
}

// reservedView is what the reserved addresses look like after a refresh.
type reservedView struct {
	gen    uint64 // orders views: a report never goes back to an older one
	byPool map[string][]model.Reservation
	held   []heldReserved
}

// TrimNode is the controller cache's transform for Nodes: the name and
// the addresses, all the controller reads of them.
func TrimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: cachetrim.Meta(n.ObjectMeta, "")}
	out.ObjectMeta.Labels = nil
	out.Status.Addresses = n.Status.Addresses
	return out, nil
}

// nodeAddresses converts a Node's status addresses.
func nodeAddresses(n *corev1.Node) model.NodeAddresses {
	out := model.NodeAddresses{Name: n.Name}
	for _, a := range n.Status.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue // a hostname, or garbage: nothing to reserve
		}
		switch a.Type {
		case corev1.NodeInternalIP:
			out.InternalIPs = append(out.InternalIPs, ip.Unmap())
		case corev1.NodeExternalIP:
			out.ExternalIPs = append(out.ExternalIPs, ip.Unmap())
		}
	}
	return out
}

// withPublishedSubnets adds to each node the subnets its speaker
// publishes in its ConfigurationState (status.interfaces), when it does.
func withPublishedSubnets(nodes []model.NodeAddresses, states []v1beta1.ConfigurationState) {
	byNode := map[string][]netip.Prefix{}
	known := map[string]bool{}
	for _, st := range states {
		if st.Status.Component != "speaker" || st.Status.Node == "" || len(st.Status.Interfaces) == 0 {
			continue
		}
		known[st.Status.Node] = true
		for _, i := range st.Status.Interfaces {
			for _, sn := range i.Subnets {
				if p, err := netip.ParsePrefix(sn); err == nil {
					byNode[st.Status.Node] = append(byNode[st.Status.Node], p)
				}
			}
		}
	}
	for i := range nodes {
		nodes[i].Subnets, nodes[i].SubnetsKnown = byNode[nodes[i].Name], known[nodes[i].Name]
	}
}

// speakerInterfacesChanged passes changes of a speaker's published
// interfaces (the subnets whose ends are reserved), not the other writes
// of ConfigurationStates.
func speakerInterfacesChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return hasInterfaces(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return hasInterfaces(e.Object) },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*v1beta1.ConfigurationState)
			n, ok2 := e.ObjectNew.(*v1beta1.ConfigurationState)
			return !ok1 || !ok2 || !reflect.DeepEqual(o.Status.Interfaces, n.Status.Interfaces)
		},
	}
}

func hasInterfaces(o client.Object) bool {
	st, ok := o.(*v1beta1.ConfigurationState)
	return !ok || len(st.Status.Interfaces) > 0
}

// nodeAddressesChanged passes Node creations, deletions and address
// changes: not the frequent status updates that change nothing here.
func nodeAddressesChanged() predicate.Predicate {
	return predicate.Funcs{
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*corev1.Node)
			n, ok2 := e.ObjectNew.(*corev1.Node)
			return !ok1 || !ok2 || !slices.Equal(o.Status.Addresses, n.Status.Addresses)
		},
	}
}

// toReservedKey maps any event to the refresh request.
func toReservedKey() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{reservedKey}
	})
}

// reservedSource turns refresh signals into the refresh request.
func reservedSource(ch chan event.GenericEvent) source.Source {
	return source.Channel(ch, toReservedKey())
}

// signalReserved asks for a refresh of the reserved addresses. It never
// blocks; one pending signal is enough.
func (r *Reconciler) signalReserved() {
	select {
	case r.reservedSig <- event.GenericEvent{Object: &corev1.Node{}}:
	default:
	}
}

// refreshReserved recomputes the reserved addresses from the Nodes and
// the configuration, applies them and reports them. The computation runs
// outside r.mu; a configuration applied meanwhile wins (SetConfig
// computes its own).
func (r *Reconciler) refreshReserved(ctx context.Context) error {
	r.mu.Lock()
	cfg := r.cfg
	r.mu.Unlock()
	if cfg == nil {
		return nil
	}
	res, err := r.reservations(ctx, cfg)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.cfg != cfg {
		r.mu.Unlock()
		return nil
	}
	changed, err := r.applyReservedLocked(res)
	view := r.reservedViewLocked()
	r.mu.Unlock()
	if err != nil {
		return err
	}
	r.report(ctx, view)
	if changed {
		r.onChange()
		r.signalResync(resyncFailed) // a freed address may now be asked for
	}
	return nil
}

// reservations lists the Nodes and computes the addresses cfg reserves.
func (r *Reconciler) reservations(ctx context.Context, cfg *model.Config) ([]model.Reservation, error) {
	var list corev1.NodeList
	if err := r.client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Nodes for reserved addresses: %w", err)
	}
	var states v1beta1.ConfigurationStateList
	if err := r.client.List(ctx, &states, client.InNamespace(r.opts.Namespace)); err != nil {
		return nil, fmt.Errorf("list ConfigurationStates for the speakers' subnets: %w", err)
	}
	return ReservationsFor(cfg, list.Items, states.Items), nil
}

// applyReservedLocked gives the allocator the reserved addresses; it
// reports whether they changed. r.mu must be held.
func (r *Reconciler) applyReservedLocked(res []model.Reservation) (bool, error) {
	if slices.Equal(res, r.reserved) {
		return false, nil
	}
	if err := r.alloc.SetReserved(IPAMReservations(res)); err != nil {
		return false, fmt.Errorf("apply reserved addresses: %w", err)
	}
	r.reserved = res
	return true, nil
}

// reservedViewLocked groups the reserved addresses by pool and finds
// their holders. r.mu must be held.
func (r *Reconciler) reservedViewLocked() reservedView {
	r.viewGen++
	v := reservedView{gen: r.viewGen, byPool: map[string][]model.Reservation{}}
	for _, x := range r.reserved {
		v.byPool[x.Pool] = append(v.byPool[x.Pool], x)
		if h := r.alloc.Holders(x.Addr); len(h) > 0 {
			v.held = append(v.held, heldReserved{Reservation: x, holders: h})
		}
	}
	return v
}

// report emits the events of what changed since the last report, and sets
// the conditions. Events go out once per distinct message. Reports are
// serialised, and one older than the last is dropped (the configuration
// watcher and the reconcilers refresh concurrently).
func (r *Reconciler) report(ctx context.Context, v reservedView) {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	if v.gen <= r.reportedGen {
		return
	}
	r.reportedGen = v.gen
	poolNotes := map[string]string{}
	for pool, res := range v.byPool {
		poolNotes[pool] = poolNote(res, v.held)
	}
	heldNotes := map[string]string{}
	for _, h := range v.held {
		for _, key := range h.holders {
			heldNotes[key+" "+h.Addr.String()] = fmt.Sprintf("holds %s, which is reserved (%s); it keeps the address, "+
				"but no address of the network's own should be a Service's: give the Service another address", h.Addr, h.Reason)
		}
	}
	newPools := changedNotes(r.poolNotes, poolNotes)
	newHeld := changedNotes(r.heldNotes, heldNotes)
	r.poolNotes, r.heldNotes = poolNotes, heldNotes
	for _, pool := range slices.Sorted(maps.Keys(newPools)) {
		r.poolEvent(ctx, pool, newPools[pool])
	}
	for _, k := range slices.Sorted(maps.Keys(newHeld)) {
		key, _, _ := strings.Cut(k, " ")
		ns, name, _ := strings.Cut(key, "/")
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := r.client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err == nil {
			r.opts.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonReservedAddressHeld, "Allocate", "%s", newHeld[k])
		}
	}
	if r.opts.OnConditions != nil {
		r.opts.OnConditions(reservedConditions(v))
	}
}

// changedNotes returns the entries of next whose note differs from prev.
func changedNotes(prev, next map[string]string) map[string]string {
	out := map[string]string{}
	for k, n := range next {
		if prev[k] != n {
			out[k] = n
		}
	}
	return out
}

// poolEvent emits a Warning on a pool of the install namespace.
func (r *Reconciler) poolEvent(ctx context.Context, pool, note string) {
	obj := &v1beta1.IPAddressPool{}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: r.opts.Namespace, Name: pool}, obj); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "read pool for its reserved-addresses event", "pool", pool)
		return
	}
	r.opts.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonAddressesReserved, "Allocate", "%s", note)
}

// poolNote describes a pool's reserved addresses and who holds some.
func poolNote(res []model.Reservation, held []heldReserved) string {
	items := make([]string, len(res))
	for i, x := range res {
		items[i] = fmt.Sprintf("%s (%s)", x.Addr, x.Reason)
	}
	note := fmt.Sprintf("%d address(es) of the pool are the network's own and are never handed out: %s",
		len(res), listSome(items))
	var kept []string
	for _, h := range held {
		if h.Pool == res[0].Pool {
			kept = append(kept, fmt.Sprintf("%s by %s", h.Addr, strings.Join(h.holders, ", ")))
		}
	}
	if len(kept) > 0 {
		note += "; still held, and kept: " + listSome(kept)
	}
	return note
}

// reservedConditions are the ConfigurationState conditions of v.
func reservedConditions(v reservedView) []metav1.Condition {
	overlap := metav1.Condition{Type: ConditionAddressesReserved, Status: metav1.ConditionFalse, Reason: "NoOverlap",
		Message: "no pool contains an address of a Node, a BGPPeer or a node subnet's network or broadcast address"}
	if len(v.byPool) > 0 {
		var items []string
		for _, pool := range slices.Sorted(maps.Keys(v.byPool)) {
			res := v.byPool[pool]
			addrs := make([]string, len(res))
			for i, x := range res {
				addrs[i] = fmt.Sprintf("%s (%s)", x.Addr, x.Reason)
			}
			items = append(items, fmt.Sprintf("pool %q: %s", pool, listSome(addrs)))
		}
		overlap.Status, overlap.Reason = metav1.ConditionTrue, "PoolsOverlapNetwork"
		overlap.Message = "these addresses are never handed out: " + listSome(items)
	}
	inUse := metav1.Condition{Type: ConditionReservedAddressesInUse, Status: metav1.ConditionFalse, Reason: "None",
		Message: "no Service holds a reserved address"}
	if len(v.held) > 0 {
		items := make([]string, len(v.held))
		for i, h := range v.held {
			items[i] = fmt.Sprintf("%s (%s) by %s", h.Addr, h.Reason, strings.Join(h.holders, ", "))
		}
		inUse.Status, inUse.Reason = metav1.ConditionTrue, "HeldByServices"
		inUse.Message = "Services keep reserved addresses they held before: " + listSome(items)
	}
	return []metav1.Condition{overlap, inUse}
}

// listSome joins at most maxListed items and says how many more there are.
func listSome(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:maxListed], "; "), len(items)-maxListed)
}

// reservedCounts counts the reserved addresses by pool and kind, and
// those Services hold by pool, for the metrics.
func (r *Reconciler) reservedCounts() (byKind map[[2]string]int, held map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKind, held = map[[2]string]int{}, map[string]int{}
	for _, x := range r.reserved {
		byKind[[2]string{x.Pool, x.Kind.String()}]++
		if len(r.alloc.Holders(x.Addr)) > 0 {
			held[x.Pool]++
		}
	}
	return byKind, held
}
