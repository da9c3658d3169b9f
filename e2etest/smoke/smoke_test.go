//go:build e2e

package smoke

import (
	"context"
	"net/netip"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// config is an L2 pool on the LAN and a BGP pool announced to the router.
const config = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-l2}
spec:
  addresses: [192.168.77.128/26, "fd00:77::100/120"]
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: lab-l2}
spec:
  ipAddressPools: [lab-l2]
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-bgp}
spec:
  addresses: [198.51.100.0/24]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: router}
spec:
  myASN: 64501
  peerASN: 64500
  peerAddress: 192.168.77.254
  holdTime: 9s
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: lab-bgp}
spec:
  ipAddressPools: [lab-bgp]
`

func TestSmoke(t *testing.T) {
	labtest.RequirePylon(t, lab.Options{})
	l := labtest.Start(t, lab.Options{})
	ctx := context.Background()
	frr, err := l.StartFRR(ctx, "router", l.RouterBGPConfig("router", lab.RouterASN, lab.NodeASN))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(config)); err != nil {
		t.Fatal(err)
	}
	if err := l.StartPylon(ctx, lab.PylonOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("L2", func(t *testing.T) {
		ip := serve(t, l, "l2-web", nil)
		var node string
		labtest.EventuallyPylon(t, l, 30*time.Second, func(ctx context.Context) (bool, error) {
			var err error
			node, err = l.HTTP(ctx, "client", ip)
			return err == nil, err
		}, "client reaches %s", ip)
		if who, err := l.Announcer(ctx, ip); err != nil || who != node {
			t.Errorf("client's neighbour entry for %s is %q (%v), but %s answered", ip, who, err, node)
		}
	})
	t.Run("BGP", func(t *testing.T) {
		ip := serve(t, l, "bgp-web", map[string]string{"pylonlb.io/address-pool": "lab-bgp"})
		dst := netip.PrefixFrom(ip, 32)
		labtest.EventuallyPylon(t, l, 60*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := l.KernelRoutes(ctx, "router")
			r, ok := routers.KernelRouteTo(rs, dst)
			return ok && len(r.NextHops) == len(l.NodeNames()), err
		}, "router has an ECMP route to %s via every node", dst)
		if node, err := l.HTTP(ctx, "outside", ip); err != nil {
			t.Errorf("outside → %s: %v", ip, err)
		} else {
			t.Logf("outside → %s answered by %s", ip, node)
		}
		if ss, err := frr.Sessions(ctx); err != nil || routers.CountEstablished(ss) != len(l.NodeNames()) {
			t.Errorf("FRR sessions %+v, %v", ss, err)
		}
	})
}

// serve creates a LoadBalancer Service with ready endpoints on every node,
// waits for its IP and makes every node accept traffic for it.
func serve(t *testing.T, l *lab.Lab, name string, annotations map[string]string) netip.Addr {
	t.Helper()
	ctx := context.Background()
	svc := kube.NewLoadBalancer("default", name)
	svc.Annotations = annotations
	if _, err := l.Admin.Kube.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nn := types.NamespacedName{Namespace: "default", Name: name}
	var eps []kube.Endpoint
	for _, n := range l.Topo.Nodes() {
		eps = append(eps, kube.Endpoint{Node: n.Name, Addr: n.IPv4(), Ready: true})
	}
	if err := l.Admin.SetEndpoints(ctx, nn, eps); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ips, err := l.Admin.WaitIngress(wctx, nn, 1)
	if err != nil {
		t.Fatal(err, l.CheckPylon())
	}
	if err := l.ServeIP(ctx, ips[0]); err != nil {
		t.Fatal(err)
	}
	return ips[0]
}
