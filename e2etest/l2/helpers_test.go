//go:build e2e

package l2

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/internal/speaker"
)

// Timeouts of the waits. They are generous: the machine is shared, and a
// wait that holds returns at once.
const (
	settleTimeout = 30 * time.Second
	httpTimeout   = 2 * time.Second
	// speakerStopGrace bounds a graceful stop (SIGTERM, then SIGKILL).
	speakerStopGrace = 10 * time.Second
)

// svcSpec describes a test Service.
type svcSpec struct {
	name     string
	families []corev1.IPFamily // default IPv4 only
	local    bool              // externalTrafficPolicy: Local
	pool     string            // pylonlb.io/address-pool
	shareKey string            // pylonlb.io/allow-shared-ip
	port     int32             // default kube.HTTPPort
	ips      []string          // pylonlb.io/loadBalancerIPs
	// ready are the nodes with a ready endpoint; nil means every node.
	ready []string
}

// service is a created test Service and its ingress addresses.
type service struct {
	nn  types.NamespacedName
	ips []netip.Addr
}

// create makes the Service with ready endpoints, waits for its addresses
// and lets every node serve them (the kube-proxy stand-in). The Service
// and the addresses on the nodes go when t ends.
func (s *suite) create(t *testing.T, spec svcSpec) service {
	t.Helper()
	ctx := context.Background()
	svc := kube.NewLoadBalancer("default", spec.name)
	if len(spec.families) == 0 {
		spec.families = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	svc.Spec.IPFamilies = spec.families
	policy := corev1.IPFamilyPolicySingleStack
	if len(spec.families) > 1 {
		policy = corev1.IPFamilyPolicyRequireDualStack
	}
	svc.Spec.IPFamilyPolicy = &policy
	if spec.local {
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	if spec.port != 0 {
		svc.Spec.Ports[0].Port = spec.port
	}
	svc.Annotations = map[string]string{}
	if spec.pool != "" {
		svc.Annotations[v1beta1.AnnotationAddressPool] = spec.pool
	}
	if spec.shareKey != "" {
		svc.Annotations[v1beta1.AnnotationAllowSharedIP] = spec.shareKey
	}
	if len(spec.ips) > 0 {
		svc.Annotations[v1beta1.AnnotationLoadBalancerIPs] = strings.Join(spec.ips, ",")
	}
	if _, err := s.l.Admin.Kube.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := service{nn: types.NamespacedName{Namespace: "default", Name: spec.name}}
	t.Cleanup(func() {
		if err := s.l.Admin.DeleteService(context.Background(), out.nn); err != nil {
			t.Errorf("delete %s: %v", out.nn, err)
		}
	})
	ready := spec.ready
	if ready == nil {
		ready = s.l.NodeNames()
	}
	s.setReady(t, out, ready, true)
	wctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	ips, err := s.l.Admin.WaitIngress(wctx, out.nn, len(spec.families))
	if err != nil {
		t.Fatal(err, s.l.CheckPylon())
	}
	out.ips = ips
	for _, ip := range ips {
		if err := s.l.ServeIP(ctx, ip); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ip := range ips {
			if err := s.l.UnserveIP(context.Background(), ip); err != nil {
				t.Errorf("unserve %s: %v", ip, err)
			}
		}
	})
	t.Logf("%s has %v", out.nn, ips)
	return out
}

// setReady replaces the Service's endpoints: one per node given (both
// families), ready or not.
func (s *suite) setReady(t *testing.T, svc service, nodes []string, ready bool) {
	t.Helper()
	var eps []kube.Endpoint
	for _, n := range nodes {
		h := s.l.Node(n)
		eps = append(eps, kube.Endpoint{Node: n, Addr: h.IPv4(), Ready: ready},
			kube.Endpoint{Node: n, Addr: h.IPv6(), Ready: ready})
	}
	if err := s.l.Admin.SetEndpoints(context.Background(), svc.nn, eps); err != nil {
		t.Fatal(err)
	}
}

// live returns the nodes whose speaker runs and whose link is up, as
// given by the caller's knowledge of what it broke: every node minus
// down.
func (s *suite) live(down ...string) []string {
	var out []string
	for _, n := range s.l.NodeNames() {
		if p := s.l.Speaker(n); p != nil && !p.Exited() && !slices.Contains(down, n) {
			out = append(out, n)
		}
	}
	return out
}

// predict returns the owner internal/election gives the Service's
// addresses among candidates (see Owner).
func predict(t *testing.T, ips []netip.Addr, candidates []string) string {
	t.Helper()
	w, ok := Owner(ips, candidates)
	if !ok {
		t.Fatalf("no owner for %v among %v", ips, candidates)
	}
	return w
}

// waitOwner waits until, for every address of svc, the client's
// neighbour entry holds want's MAC and an HTTP request through the
// address is answered by want.
func (s *suite) waitOwner(t *testing.T, svc service, want string) {
	t.Helper()
	for _, ip := range svc.ips {
		var seen note
		labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
			ctx, cancel := context.WithTimeout(ctx, httpTimeout)
			defer cancel()
			answered, err := s.l.HTTP(ctx, "client", ip)
			if err != nil {
				return false, err
			}
			who, err := s.l.Announcer(ctx, ip)
			seen.set("neighbour %q, HTTP answered by %q", who, answered)
			return who == want && answered == want, err
		}, "%s: client resolves %s to %s and HTTP reaches it (last: %s)", svc.nn, ip, want, &seen)
	}
}

// waitAnnouncedEvent waits for an L2Announced event of the Service in
// which node says it announces ip.
func (s *suite) waitAnnouncedEvent(t *testing.T, svc service, ip netip.Addr, node string) {
	t.Helper()
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		evs, err := s.l.Admin.Kube.EventsV1().Events(svc.nn.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var notes []string
		for _, e := range evs.Items {
			if e.Regarding.Kind != "Service" || e.Regarding.Name != svc.nn.Name || e.Reason != speaker.ReasonL2Announced {
				continue
			}
			notes = append(notes, e.Note)
			if announces(e.Note, node, ip) {
				return true, nil
			}
		}
		seen.set("%q", notes)
		return false, nil
	}, "%s: event %s from %s for %s (events: %s)", svc.nn, speaker.ReasonL2Announced, node, ip, &seen)
}

// announces reports whether an L2Announced note ("Node N announces IP, IP
// (ARP/NDP on ...)") says node announces ip.
func announces(note, node string, ip netip.Addr) bool {
	rest, ok := strings.CutPrefix(note, "Node "+node+" announces ")
	if !ok {
		return false
	}
	list, _, _ := strings.Cut(rest, " (")
	return slices.Contains(strings.Split(list, ", "), ip.String())
}

// unresolved waits until the client can no longer reach ip: with its
// neighbour entry flushed, an HTTP request fails and the new entry stays
// unresolved (INCOMPLETE or FAILED): nobody answers ARP/NDP for ip.
func (s *suite) waitUnresolved(t *testing.T, ip netip.Addr) {
	t.Helper()
	client := s.l.Client().NS
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		if err := probe.FlushNeighbor(ctx, client, ip); err != nil {
			return false, err
		}
		hctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if node, err := s.l.HTTP(hctx, "client", ip); err == nil {
			seen.set("answered by %s", node)
			return false, nil
		}
		ns, err := probe.Neighbors(ctx, client, "")
		if err != nil {
			return false, err
		}
		n, ok := probe.NeighborOf(ns, ip)
		seen.set("%+v", n)
		return ok && !n.Resolved(), nil
	}, "client cannot resolve %s (last: %s)", ip, &seen)
}

// note is the last observation of a wait, for its failure message (which
// is formatted when the wait fails, hence the pointer).
type note string

func (n *note) set(format string, args ...any) { *n = note(fmt.Sprintf(format, args...)) }

// String returns the observation.
func (n *note) String() string { return string(*n) }

// waitMembers waits until every given node's speaker sees exactly the
// given number of members: after restarts and restored links, the
// speakers agree again.
func (s *suite) waitMembers(t *testing.T, nodes []string) {
	t.Helper()
	var seen note
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		ok, counts, err := Converged(ctx, s.l, nodes)
		seen.set("%v", counts)
		return ok, err
	}, "speakers of %v see each other (members seen: %s)", nodes, &seen)
}
