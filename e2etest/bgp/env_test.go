//go:build e2e

package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// Pools of the suite. main assigns automatically; the others only on
// request (annotation), so each case picks the pool its advertisement
// covers.
const (
	poolMain  = "main"
	poolAgg   = "agg"
	poolExtra = "extra"
)

// baseConfig is what every case starts from: three pools and two eBGP
// sessions from every node to FRR on the router, one over IPv4 and one
// over IPv6 (each carries its own family). No advertisement: cases add
// their own.
const baseConfig = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: main}
spec:
  addresses: [198.51.100.0/26, "2001:db8:100::/120"]
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: agg}
spec:
  addresses: [198.51.100.64/26, "2001:db8:100::100/120"]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: extra}
spec:
  addresses: [198.51.100.128/26, "2001:db8:100::200/120"]
  autoAssign: false
` + basePeers

// basePeers are the baseline sessions (see baseConfig). Hold time is the
// default 90 s, as FRR's: only BFD can withdraw a cut node's routes in
// under a minute.
const basePeers = `---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr4}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, connectTime: 1s}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: frr6}
spec: {myASN: 64501, peerASN: 64500, peerAddress: "fd00:77::254", connectTime: 1s}
`

// Pylon's configuration kinds, as resources.
var (
	resPeers = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "bgppeers"}
	resAdvs  = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "bgpadvertisements"}
	resComms = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "communities"}
	resBFD   = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "bfdprofiles"}
)

// frrRouterConfig is FRR on the router: AS 64500, dynamic neighbours from
// the whole LAN in any external AS, both families on both ranges, BFD on
// both ranges (a speaker without BFD simply never brings it up), and the
// default 90 s hold time.
func frrRouterConfig(l *lab.Lab) routers.BGPConfig {
	return routers.BGPConfig{
		ASN:      lab.RouterASN,
		RouterID: l.Router().IPv4(),
		Listen: []routers.ListenRange{
			{Prefix: topo.LANv4, BFD: true},
			{Prefix: topo.LANv6, BFD: true},
		},
		HoldTime:  90 * time.Second,
		Keepalive: 30 * time.Second,
		ExtraFRR: fmt.Sprintf("router bgp %d\n address-family ipv4 unicast\n  neighbor RANGE1 activate\n exit-address-family\n"+
			" address-family ipv6 unicast\n  neighbor RANGE0 activate\n exit-address-family\nexit\n", lab.RouterASN),
	}
}

// env is the suite's shared lab and router.
type env struct {
	l   *lab.Lab
	frr *routers.FRR // FRR on the router (nil while another daemon runs there)
	// bird is BIRD on the router while testBIRD's daemon runs there.
	bird *routers.BIRD
}

// ctx is a context for one API or router call.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond every 50 ms (router reads spawn vtysh: no need to
// hammer two shared cores) and fails t after timeout, at once if a Pylon
// process died.
func (e *env) eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	err := wait.For(context.Background(), timeout, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := e.l.CheckPylon(); err != nil {
			return false, fmt.Errorf("%w: %w", errPylonDied, err)
		}
		return cond(ctx)
	})
	if err != nil {
		t.Fatalf("%s: not within %v: %v", fmt.Sprintf(format, args...), timeout, err)
	}
}

var errPylonDied = fmt.Errorf("a Pylon process died")

// apply applies YAML to Pylon's namespace.
func (e *env) apply(t testing.TB, yaml string) {
	t.Helper()
	if err := e.l.Admin.ApplyYAML(ctx(t), lab.PylonNamespace, []byte(yaml)); err != nil {
		t.Fatal(err)
	}
}

// del deletes one of Pylon's configuration objects; a missing one is fine.
func (e *env) del(t testing.TB, res schema.GroupVersionResource, name string) {
	t.Helper()
	err := e.l.Admin.Dynamic.Resource(res).Namespace(lab.PylonNamespace).Delete(ctx(t), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete %s %s: %v", res.Resource, name, err)
	}
}

// names lists the objects of a kind in Pylon's namespace.
func (e *env) names(t testing.TB, res schema.GroupVersionResource) []string {
	t.Helper()
	list, err := e.l.Admin.Dynamic.Resource(res).Namespace(lab.PylonNamespace).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list %s: %v", res.Resource, err)
	}
	var out []string
	for _, o := range list.Items {
		out = append(out, o.GetName())
	}
	return out
}

// reset brings the configuration back to the baseline: no advertisement,
// community or BFD profile, the baseline peers only, and no route of
// Pylon's pools left at the router.
func (e *env) reset(t testing.TB) {
	t.Helper()
	for _, res := range []schema.GroupVersionResource{resAdvs, resComms, resBFD} {
		for _, n := range e.names(t, res) {
			e.del(t, res, n)
		}
	}
	for _, n := range e.names(t, resPeers) {
		if n != "frr4" && n != "frr6" {
			e.del(t, resPeers, n)
		}
	}
	e.apply(t, basePeers)
	if e.frr != nil {
		e.waitEstablished(t, e.frr, e.baseSessions())
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.Routes(ctx)
			return len(rs) == 0, err
		}, "FRR on the router holds no route after the case")
	}
}

// nodeAddrs returns the nodes' addresses of one family (v6: IPv6), sorted.
func (e *env) nodeAddrs(v6 bool, nodes ...string) []netip.Addr {
	var out []netip.Addr
	for _, n := range nodes {
		if v6 {
			out = append(out, e.l.Node(n).IPv6())
		} else {
			out = append(out, e.l.Node(n).IPv4())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
