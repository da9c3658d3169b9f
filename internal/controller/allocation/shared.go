package allocation

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/ipam"
	"github.com/pylonlb/pylon/internal/model"
)

// The reconciler's pure decisions, exported for the kubectl plugin, which
// must answer exactly as the controller decides.

// WantsAddress reports whether Pylon's controller, serving lbClass, gives
// the Service an address.
func WantsAddress(svc *corev1.Service, lbClass string) bool { return wantsAddress(svc, lbClass) }

// RequestFor turns a Service (and its namespace's labels) into the
// allocation request the controller makes for it.
func RequestFor(svc *corev1.Service, nsLabels map[string]string) (ipam.Request, error) {
	return requestFor(svc, nsLabels)
}

// IPAMPools adapts the model's pools to the allocator's.
func IPAMPools(cfg *model.Config) []ipam.Pool { return ipamPools(cfg) }

// NotRestored is a Service whose status addresses Restore could not
// claim, and why.
type NotRestored struct {
	Key string
	IPs []netip.Addr
	Err error
}

// Restore claims in alloc the addresses every Service already shows in
// its status, oldest Service first, so a conflict is settled in favour of
// the older: what the controller does when it starts. nsLabels returns a
// namespace's labels; it is only called when a pool selects namespaces by
// label. Restore returns how many Services it restored and those it could
// not.
func Restore(alloc *ipam.Allocator, cfg *model.Config, svcs []corev1.Service, lbClass string, nsLabels func(namespace string) map[string]string) (int, []NotRestored) {
	svcs = slices.Clone(svcs)
	slices.SortFunc(svcs, func(a, b corev1.Service) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	restored := 0
	var failed []NotRestored
	for i := range svcs {
		svc := &svcs[i]
		ips := ingressIPs(svc)
		if len(ips) == 0 || !wantsAddress(svc, lbClass) {
			continue
		}
		var labels map[string]string
		if needsNamespaceLabels(cfg) {
			labels = nsLabels(svc.Namespace)
		}
		req, err := requestFor(svc, labels)
		if err == nil {
			_, err = alloc.Assign(req, ips)
		}
		if err != nil {
			failed = append(failed, NotRestored{Key: svc.Namespace + "/" + svc.Name, IPs: ips, Err: err})
			continue
		}
		restored++
	}
	return restored, failed
}

// ReservationsFor computes the addresses cfg reserves (Nodes' own
// addresses, BGPPeer addresses, subnet ends, exact where the speakers'
// ConfigurationStates publish their subnets) as the controller does.
func ReservationsFor(cfg *model.Config, nodes []corev1.Node, states []v1beta1.ConfigurationState) []model.Reservation {
	addrs := make([]model.NodeAddresses, len(nodes))
	for i := range nodes {
		addrs[i] = nodeAddresses(&nodes[i])
	}
	withPublishedSubnets(addrs, states)
	return model.Reservations(cfg, addrs)
}

// IPAMReservations converts reservations for the allocator.
func IPAMReservations(res []model.Reservation) []ipam.Reservation {
	out := make([]ipam.Reservation, len(res))
	for i, x := range res {
		out[i] = ipam.Reservation{Addr: x.Addr, Reason: x.Reason}
	}
	return out
}
