package kube

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestNewEndpointSlices(t *testing.T) {
	svc := NewLoadBalancer("default", "web")
	svc.UID = "u1"
	eps := []Endpoint{
		{Node: "node1", Addr: netip.MustParseAddr("192.168.77.11"), Ready: true},
		{Node: "node2", Addr: netip.MustParseAddr("fd00:77::12"), Ready: false},
		{Node: "node3", Addr: netip.MustParseAddr("192.168.77.13"), Ready: false},
	}
	got := NewEndpointSlices(svc, eps)
	type row struct {
		Name  string
		Fam   discoveryv1.AddressType
		Nodes []string
		Ready []bool
	}
	var rows []row
	for _, s := range got {
		r := row{Name: s.Name, Fam: s.AddressType}
		for _, e := range s.Endpoints {
			r.Nodes, r.Ready = append(r.Nodes, *e.NodeName), append(r.Ready, *e.Conditions.Ready)
		}
		rows = append(rows, r)
		if s.Labels[discoveryv1.LabelServiceName] != "web" || s.OwnerReferences[0].UID != "u1" {
			t.Errorf("slice %s: labels %v owner %v", s.Name, s.Labels, s.OwnerReferences)
		}
	}
	want := []row{
		{"web-lab-ipv4", discoveryv1.AddressTypeIPv4, []string{"node1", "node3"}, []bool{true, false}},
		{"web-lab-ipv6", discoveryv1.AddressTypeIPv6, []string{"node2"}, []bool{false}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("slices (-want +got):\n%s", diff)
	}
	if s := NewEndpointSlices(svc, nil); len(s) != 0 {
		t.Errorf("no endpoints gave %d slices", len(s))
	}
}

func TestNewNode(t *testing.T) {
	n := NewNode(NodeSpec{Name: "node1", Labels: map[string]string{"zone": "a"},
		Addresses: []netip.Addr{netip.MustParseAddr("192.168.77.11"), netip.MustParseAddr("fd00:77::11")}})
	wantAddrs := []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "node1"},
		{Type: corev1.NodeInternalIP, Address: "192.168.77.11"},
		{Type: corev1.NodeInternalIP, Address: "fd00:77::11"},
	}
	if diff := cmp.Diff(wantAddrs, n.Status.Addresses); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if n.Labels["kubernetes.io/hostname"] != "node1" || n.Labels["zone"] != "a" || n.Labels["kubernetes.io/os"] != "linux" {
		t.Errorf("labels %v", n.Labels)
	}
	if c := n.Status.Conditions[0]; c.Type != corev1.NodeReady || c.Status != corev1.ConditionTrue {
		t.Errorf("first condition %+v, want Ready=True", c)
	}
}

func TestSplitYAML(t *testing.T) {
	in := "---\n# comment only\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n"
	objs, err := SplitYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if diff := cmp.Diff([]string{"ServiceAccount/a", "Namespace/b"}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if _, err := SplitYAML([]byte("kind: [unclosed")); err == nil {
		t.Error("bad YAML accepted")
	}
}

func FuzzSplitYAML(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: A\n---\nkind: B\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) { SplitYAML(b) })
}

func TestManifestFiles(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	for _, p := range []string{filepath.Join(d1, "b.yaml"), filepath.Join(d1, "a.yml"), filepath.Join(d1, "kustomization.yaml"),
		filepath.Join(d1, "notes.md"), filepath.Join(d2, "role.yaml")} {
		os.WriteFile(p, nil, 0o644)
	}
	got, err := ManifestFiles(d2, filepath.Join(d1, "missing"), d1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(d2, "role.yaml"), filepath.Join(d1, "a.yml"), filepath.Join(d1, "b.yaml")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestIngressIPs(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.168.77.130"}, {Hostname: "h"}, {IP: "fd00:77::100", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	want := []netip.Addr{netip.MustParseAddr("192.168.77.130"), netip.MustParseAddr("fd00:77::100")}
	if diff := cmp.Diff(want, IngressIPs(svc), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
}
