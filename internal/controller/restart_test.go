package controller_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// TestRestartKeepsAddresses restarts the controller many times while
// Services hold addresses, with pools edited in between: no address may
// move. PYLON_RESTART_SERVICES and PYLON_RESTARTS scale it (defaults 500
// and 20).
func TestRestartKeepsAddresses(t *testing.T) {
	services, restarts := envInt("PYLON_RESTART_SERVICES", 500), envInt("PYLON_RESTARTS", 20)
	if testing.Short() {
		services, restarts = 50, 3
	}
	h := newHarness(t, "")
	// Two pools; the second is preferred only after the first restart, so a
	// controller that re-allocated instead of restoring would move Services.
	h.pool("first", spec("10.60.0.0/22"))
	second := h.pool("second", v1beta1.IPAddressPoolSpec{Addresses: []string{"10.61.0.0/22"}, AutoAssign: ptr(false)})
	for i := range services {
		opts := []svcOpt{}
		if i%10 == 0 {
			opts = append(opts, annotate(v1beta1.AnnotationAllowSharedIP, "shared"), withPorts(corev1.ProtocolTCP, int32(1000+i)))
		}
		h.service(fmt.Sprintf("svc-%03d", i), opts...)
	}
	want := h.snapshot(services)
	h.update(second, func() {
		second.Spec.AutoAssign = ptr(true)
		second.Spec.ServiceAllocation = &v1beta1.ServiceAllocation{Priority: 1}
	})
	for r := range restarts {
		h.restart()
		if r == restarts/2 {
			h.update(second, func() { second.Spec.Addresses = append(second.Spec.Addresses, "10.62.0.0/24") })
		}
		// A new Service after each restart proves the controller is working
		// (and has restored everything before allocating).
		name := fmt.Sprintf("probe-%02d", r)
		h.service(name)
		h.waitIPs(name, 1)
		got := h.snapshot(services)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("restart %d moved addresses (-before +after):\n%s", r, diff)
		}
	}
}

// snapshot waits until n svc-* Services have addresses and returns them.
func (h *harness) snapshot(n int) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	eventually(h.t, func() (bool, string) {
		var list corev1.ServiceList
		if err := h.c.List(context.Background(), &list, client.InNamespace(h.app)); err != nil {
			return false, err.Error()
		}
		clear(out)
		for _, s := range list.Items {
			if len(s.Name) > 4 && s.Name[:4] == "svc-" && len(s.Status.LoadBalancer.Ingress) == 1 {
				out[s.Name] = s.Status.LoadBalancer.Ingress[0].IP
			}
		}
		return len(out) == n, fmt.Sprintf("%d of %d Services have addresses", len(out), n)
	})
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
