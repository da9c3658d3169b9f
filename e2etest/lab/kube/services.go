package kube

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// HTTPPort is the port of every node's HTTP server, and of test Services.
const HTTPPort = 80

// EndpointManager labels the EndpointSlices the lab makes.
const EndpointManager = "pylon-lab"

// NewLoadBalancer returns a Service of type LoadBalancer on HTTPPort, for
// tests to adjust (families, traffic policy, annotations) before creating.
// It is pure.
func NewLoadBalancer(namespace, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: HTTPPort}},
		},
	}
}

// Endpoint is one backend of a test Service: on a node, ready or not.
type Endpoint struct {
	Node  string
	Addr  netip.Addr // the node's own address stands in for a pod's
	Ready bool
}

// NewEndpointSlices returns one EndpointSlice per address family present
// in eps (IPv4 first), named "<service>-lab-ipv4"/"-ipv6", owned by svc. It
// is pure; families absent from eps get no slice.
func NewEndpointSlices(svc *corev1.Service, eps []Endpoint) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, fam := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		var list []discoveryv1.Endpoint
		for _, e := range eps {
			if e.Addr.Is4() != (fam == discoveryv1.AddressTypeIPv4) {
				continue
			}
			list = append(list, discoveryv1.Endpoint{
				Addresses:  []string{e.Addr.String()},
				NodeName:   ptr.To(e.Node),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.Ready), Serving: ptr.To(e.Ready), Terminating: ptr.To(false)},
			})
		}
		if list == nil {
			continue
		}
		out = append(out, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: svc.Namespace,
				Name:      svc.Name + "-lab-" + strings.ToLower(string(fam)),
				Labels: map[string]string{
					discoveryv1.LabelServiceName: svc.Name,
					discoveryv1.LabelManagedBy:   EndpointManager,
				},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID}},
			},
			AddressType: fam,
			Endpoints:   list,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(HTTPPort))}},
		})
	}
	return out
}

// SetEndpoints makes the lab's EndpointSlices of a Service say eps, standing
// in for the endpoint controller: slices are created or replaced, and a
// family with no endpoint left keeps an empty slice.
func (c *Client) SetEndpoints(ctx context.Context, svc types.NamespacedName, eps []Endpoint) error {
	s, err := c.Kube.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("set endpoints of %s: %w", svc, err)
	}
	want := map[string]*discoveryv1.EndpointSlice{}
	for _, sl := range NewEndpointSlices(s, eps) {
		want[sl.Name] = sl
	}
	api := c.Kube.DiscoveryV1().EndpointSlices(svc.Namespace)
	for _, fam := range []string{"ipv4", "ipv6"} {
		name := svc.Name + "-lab-" + fam
		cur, err := api.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && want[name] != nil:
			_, err = api.Create(ctx, want[name], metav1.CreateOptions{})
		case err == nil && want[name] != nil:
			want[name].ResourceVersion = cur.ResourceVersion
			_, err = api.Update(ctx, want[name], metav1.UpdateOptions{})
		case err == nil:
			cur.Endpoints = nil
			_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
		case apierrors.IsNotFound(err):
			err = nil
		}
		if err != nil {
			return fmt.Errorf("set endpoints of %s (%s): %w", svc, fam, err)
		}
	}
	return nil
}

// DeleteService deletes a Service and the lab's EndpointSlices of it
// (nothing garbage-collects them in the lab).
func (c *Client) DeleteService(ctx context.Context, svc types.NamespacedName) error {
	err := c.Kube.CoreV1().Services(svc.Namespace).Delete(ctx, svc.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete service %s: %w", svc, err)
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		err := c.Kube.DiscoveryV1().EndpointSlices(svc.Namespace).Delete(ctx, svc.Name+"-lab-"+fam, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints of %s: %w", svc, err)
		}
	}
	return nil
}

// IngressIPs returns the load balancer ingress IPs in a Service's status.
func IngressIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// WaitIngress polls a Service until its status has at least n ingress IPs
// and returns them.
func (c *Client) WaitIngress(ctx context.Context, svc types.NamespacedName, n int) ([]netip.Addr, error) {
	var ips []netip.Addr
	err := wait.Until(ctx, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		s, err := c.Kube.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ips = IngressIPs(s)
		return len(ips) >= n, nil
	})
	if err != nil {
		return ips, fmt.Errorf("wait for %d ingress IPs on %s: %w", n, svc, err)
	}
	return ips, nil
}
