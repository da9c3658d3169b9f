package kube_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

var advertise = netip.MustParseAddr("192.168.77.250")

// startServer runs a control plane in a fresh namespace with a veth
// interface holding the advertise address.
func startServer(t *testing.T) (*kube.Server, netns.NS) {
	t.Helper()
	prereq.Require(t, append(prereq.KubeBinaries(), "ip")...)
	ctx := context.Background()
	ns, err := netns.Create(ctx, fmt.Sprintf("plabkt%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Delete(context.Background()) })
	if err := ns.IPBatch(ctx, []string{"link set lo up", "link add d0 type veth peer name d1", "addr add 192.168.77.250/24 dev d0", "link set d0 up", "link set d1 up"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := kube.StartServer(ctx, kube.ServerOptions{NS: ns, Dir: t.TempDir(), BinDir: prereq.KubeBinDir(), AdvertiseAddr: advertise})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("etcd + kube-apiserver ready in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s, ns
}

func TestServerEndToEnd(t *testing.T) {
	s, ns := startServer(t)
	ctx := context.Background()
	c, err := kube.NewClient(s.AdminConfig(s.URL(advertise), ns.DialContext))
	if err != nil {
		t.Fatal(err)
	}
	// Nodes with status.
	if _, err := c.CreateNode(ctx, kube.NodeSpec{Name: "node1", Addresses: []netip.Addr{netip.MustParseAddr("192.168.77.11")}}); err != nil {
		t.Fatal(err)
	}
	n, err := c.Kube.CoreV1().Nodes().Get(ctx, "node1", metav1.GetOptions{})
	if err != nil || len(n.Status.Conditions) == 0 || n.Status.Addresses[1].Address != "192.168.77.11" {
		t.Fatalf("node1 = %+v, %v", n.Status, err)
	}
	// Server-side apply of a CRD and an object of its kind.
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.lab.example}
spec:
  group: lab.example
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: lab.example/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
`
	if err := c.ApplyYAML(ctx, "default", []byte(crd)); err != nil {
		t.Fatal(err)
	}
	// A ServiceAccount token authenticates, and RBAC (nothing bound) denies.
	if err := c.EnsureNamespace(ctx, "pylon-system"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureServiceAccount(ctx, "pylon-system", "pylon-speaker"); err != nil {
		t.Fatal(err)
	}
	tok, err := c.ServiceAccountToken(ctx, "pylon-system", "pylon-speaker", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "speaker.kubeconfig")
	if err := kube.WriteKubeconfig(path, s.URL(advertise), s.CACert(), "pylon-speaker", tok); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dial = ns.DialContext
	sc, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("speaker listing nodes without RBAC: %v, want Forbidden", err)
	}
	// EndpointSlices for a Service.
	svc := kube.NewLoadBalancer("default", "web")
	if _, err := c.Kube.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := types.NamespacedName{Namespace: "default", Name: "web"}
	for _, ready := range []bool{true, false} {
		eps := []kube.Endpoint{{Node: "node1", Addr: netip.MustParseAddr("192.168.77.11"), Ready: ready}}
		if err := c.SetEndpoints(ctx, name, eps); err != nil {
			t.Fatal(err)
		}
	}
	sl, err := c.Kube.DiscoveryV1().EndpointSlices("default").Get(ctx, "web-lab-ipv4", metav1.GetOptions{})
	if err != nil || *sl.Endpoints[0].Conditions.Ready {
		t.Fatalf("slice after update: %+v, %v", sl, err)
	}
	if err := c.DeleteService(ctx, name); err != nil {
		t.Fatal(err)
	}
}
