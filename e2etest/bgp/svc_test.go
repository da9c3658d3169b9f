//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// Address families of test Services.
var (
	v4Only    = []corev1.IPFamily{corev1.IPv4Protocol}
	v6Only    = []corev1.IPFamily{corev1.IPv6Protocol}
	dualStack = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
)

// svc describes a test Service.
type svc struct {
	name     string
	pool     string            // "" assigns from the default pool (main)
	families []corev1.IPFamily // default IPv4 only
	local    bool              // externalTrafficPolicy Local
	labels   map[string]string
	ready    []string // nodes with a ready endpoint
}

// service creates a LoadBalancer Service with endpoints on s.ready, waits
// for its IPs (one per family) and deletes it when t ends.
func (e *env) service(t testing.TB, s svc) []netip.Addr {
	t.Helper()
	if s.families == nil {
		s.families = v4Only
	}
	o := kube.NewLoadBalancer("default", s.name)
	o.Labels = s.labels
	o.Spec.IPFamilies = s.families
	policy := corev1.IPFamilyPolicySingleStack
	if len(s.families) > 1 {
		policy = corev1.IPFamilyPolicyRequireDualStack
	}
	o.Spec.IPFamilyPolicy = &policy
	if s.local {
		o.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	if s.pool != "" {
		o.Annotations = map[string]string{v1beta1.AnnotationAddressPool: s.pool}
	}
	nn := types.NamespacedName{Namespace: "default", Name: s.name}
	if _, err := e.l.Admin.Kube.CoreV1().Services("default").Create(ctx(t), o, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.l.Admin.DeleteService(context.Background(), nn); err != nil {
			t.Error(err)
		}
	})
	e.setReady(t, s.name, s.ready...)
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ips, err := e.l.Admin.WaitIngress(wctx, nn, len(s.families))
	if err != nil {
		t.Fatal(err, e.l.CheckPylon())
	}
	return ips
}

// setReady replaces a Service's endpoints: one ready endpoint per node
// given (both families), none when no node is given.
func (e *env) setReady(t testing.TB, name string, nodes ...string) {
	t.Helper()
	var eps []kube.Endpoint
	for _, n := range nodes {
		h := e.l.Node(n)
		eps = append(eps, kube.Endpoint{Node: n, Addr: h.IPv4(), Ready: true}, kube.Endpoint{Node: n, Addr: h.IPv6(), Ready: true})
	}
	if err := e.l.Admin.SetEndpoints(ctx(t), types.NamespacedName{Namespace: "default", Name: name}, eps); err != nil {
		t.Fatal(err)
	}
}

// serve makes every node accept traffic for ip (kube-proxy stand-in)
// until t ends.
func (e *env) serve(t testing.TB, ip netip.Addr) {
	t.Helper()
	if err := e.l.ServeIP(ctx(t), ip); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.l.UnserveIP(context.Background(), ip); err != nil {
			t.Error(err)
		}
	})
}

// host returns the host route of ip.
func host(ip netip.Addr) netip.Prefix { return netip.PrefixFrom(ip, ip.BitLen()) }

// waitKernel waits until host's kernel routes dst via exactly the given
// nodes (ECMP), or has no route for dst when no node is given.
func (e *env) waitKernel(t testing.TB, hostName string, dst netip.Prefix, nodes ...string) {
	t.Helper()
	want := e.nodeAddrs(dst.Addr().Is6(), nodes...)
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := e.l.KernelRoutes(ctx, hostName)
		if err != nil {
			return false, err
		}
		var got []netip.Addr
		if r, ok := routers.KernelRouteTo(rs, dst); ok {
			got = r.NextHops
		}
		if !slices.Equal(got, want) {
			return false, fmt.Errorf("next hops %v", got)
		}
		return true, nil
	}, "%s's kernel routes %s via %v", hostName, dst, nodes)
}

// waitNextHops waits until r's BGP table has paths for dst with exactly
// the given nodes' addresses as next hops (none: dst is absent).
func (e *env) waitNextHops(t testing.TB, r routers.Router, dst netip.Prefix, nodes ...string) []routers.Route {
	t.Helper()
	want := e.nodeAddrs(dst.Addr().Is6(), nodes...)
	var rs []routers.Route
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		if rs, err = r.Routes(ctx); err != nil {
			return false, err
		}
		if got := routers.NextHops(rs, dst); !slices.Equal(got, want) {
			return false, fmt.Errorf("next hops %v", got)
		}
		return true, nil
	}, "%s has %s via %v", r.Name(), dst, nodes)
	return rs
}

// waitHTTP waits until the outside host reaches ip and returns the node
// that answered.
func (e *env) waitHTTP(t testing.TB, ip netip.Addr, from ...string) string {
	t.Helper()
	var node string
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		node, err = e.l.HTTP(ctx, "outside", ip)
		return err == nil && (len(from) == 0 || slices.Contains(from, node)), err
	}, "outside reaches %s (answered by one of %v)", ip, from)
	return node
}
