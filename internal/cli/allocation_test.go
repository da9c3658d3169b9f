package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/cli"
)

// TestAllocationAnswersAgreeWithTheController runs the real controller
// and checks that status, explain and who-has tell what it did: a normal
// Service, an exhausted pool, a requested address held by a Service it
// cannot share with, an unknown pool; and that bad input is one line and
// exit status 2.
func TestAllocationAnswersAgreeWithTheController(t *testing.T) {
	h := newHarness(t)
	h.pool("small", true, "192.0.2.10/32")
	h.pool("manual", false, "198.51.100.0/30")
	auto := true
	h.create(&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: h.ns},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"203.0.113.0/30"}, AutoAssign: &auto,
			ServiceAllocation: &v1beta1.ServiceAllocation{Namespaces: []string{"elsewhere"}}}})

	h.service("first", annotate(v1beta1.AnnotationAllowSharedIP, "k"))
	if got := h.waitIPs("first", 1); got[0] != "192.0.2.10" {
		t.Fatalf("first got %v", got)
	}
	h.service("second")
	h.service("taken", annotate(v1beta1.AnnotationLoadBalancerIPs, "192.0.2.10"), annotate(v1beta1.AnnotationAllowSharedIP, "k"))
	h.service("nopool", annotate(v1beta1.AnnotationAddressPool, "nope"))

	// The problem status shows is the controller's own failure message.
	for name, want := range map[string]string{
		"second": `pool "small" has no free IPv4 address`,
		"taken":  "both use port TCP/80",
		"nopool": `pool "nope" is not configured`,
	} {
		event := h.failure(name)
		var rep cli.ServiceReport
		r := h.run("", "status", name, "-o", "json")
		if r.code != 0 {
			t.Fatalf("status %s: exit %d: %s", name, r.code, r.errOut)
		}
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("status %s -o json: %v\n%s", name, err, r.out)
		}
		if rep.Problem == "" || !strings.HasSuffix(event, rep.Problem) || !strings.Contains(rep.Problem, want) {
			t.Errorf("status %s: problem %q; the controller said %q; want it to contain %q", name, rep.Problem, event, want)
		}
	}

	r := h.run("", "status")
	wantLine(t, "status", r.out, "first", "192.0.2.10", "small", "announced by nobody")
	wantLine(t, "status", r.out, "second", "<none>", "no free IPv4 address")
	r = h.run("", "status", "-A")
	wantLine(t, "status -A", r.out, h.app, "first", "192.0.2.10")

	r = h.run("", "explain", "second")
	wantLine(t, "explain second", r.out, `pool "small" (0 IPv4 free)`, "does not", "no free IPv4 address")
	wantLine(t, "explain second", r.out, `pool "manual" (4 IPv4 free)`)
	wantLine(t, "explain second", r.out, `pool "manual"`, "does not", "autoAssign is off")
	wantLine(t, "explain second", r.out, `pool "team"`, "does not", `namespace "`+h.app+`" is not among the pool's namespaces ["elsewhere"]`)
	r = h.run("", "explain", "taken")
	wantLine(t, "explain taken", r.out, `pool "small"`, "held by service "+h.app+"/first", "both use port TCP/80")
	wantLine(t, "explain taken", r.out, `pool "manual"`, "the requested address 192.0.2.10 is not in this pool")
	r = h.run("", "explain", "first")
	wantLine(t, "explain first", r.out, "Allocation: holds 192.0.2.10", `"small"`)

	r = h.run("", "who-has", "192.0.2.10")
	wantLine(t, "who-has", r.out, "192.0.2.10", `pool "small"`, "held by")
	wantLine(t, "who-has", r.out, "Service "+h.app+"/first")
	r = h.run("", "who-has", "198.51.100.1")
	if r.code != 0 {
		t.Errorf("who-has a free address: exit %d", r.code)
	}
	wantLine(t, "who-has free", r.out, "198.51.100.1 is free", `pool "manual"`)

	for _, args := range [][]string{
		{"who-has", "10.99.0.1"},
		{"who-has", "not-an-address"},
		{"status", "ghost"},
		{"explain", "ghost"},
		{"status", "-o", "xml"},
	} {
		r := h.run("", args...)
		if r.code != cli.ExitInvalid || strings.Count(strings.TrimSpace(r.errOut), "\n") != 0 || r.errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, r.code, r.errOut)
		}
	}
}
