package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cli"
)

// TestReservedAddressAgreesWithTheController: a Node's address inside a
// pool is reserved by the real controller; who-has says so with the same
// reason, and status shows the controller's own failure for a Service
// asking for it.
func TestReservedAddressAgreesWithTheController(t *testing.T) {
	h := newHarness(t)
	h.pool("lan", true, "192.0.2.64/30")
	name := h.node("reserved", nil, false)
	var n corev1.Node
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: name}, &n); err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.65"}}
	if err := h.c.Status().Update(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	h.service("wants-node-ip", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.0.2.65"))
	event := h.failure("wants-node-ip")
	if !strings.Contains(event, name) {
		t.Fatalf("the controller's failure %q does not name Node %s", event, name)
	}

	r := h.run("", "who-has", "192.0.2.65", "-o", "json")
	var got cli.Holding
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("who-has -o json: %v\n%s", err, r.out)
	}
	if !got.Free || !strings.Contains(got.Reserved, name) {
		t.Errorf("who-has 192.0.2.65: free %v, reserved %q; want free and reserved naming %s", got.Free, got.Reserved, name)
	}
	r = h.run("", "who-has", "192.0.2.65")
	wantLine(t, "who-has", r.out, "192.0.2.65", "is reserved", name)

	var rep cli.ServiceReport
	r = h.run("", "status", "wants-node-ip", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.out)
	}
	if rep.Problem == "" || !strings.HasSuffix(event, rep.Problem) {
		t.Errorf("status: problem %q; the controller said %q", rep.Problem, event)
	}
}
