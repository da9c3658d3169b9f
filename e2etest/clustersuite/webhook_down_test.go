//go:build e2e

package clustersuite

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"
)

// testWebhookControllerDown: with no controller replica running, the
// default failurePolicy (Ignore) lets users create, fix and delete
// Pylon's objects; an invalid one is reported and never takes effect
// once the controller is back, and no Service changes address. With
// failurePolicy Fail the same edits are refused until a controller
// answers.
func testWebhookControllerDown(t *testing.T, e *env) {
	const bad = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad-while-down, namespace: pylon-system}
spec:
  addresses: ["192.168.77.300/26"]
`
	const community = `apiVersion: pylonlb.io/v1beta1
kind: Community
metadata: {name: while-down, namespace: pylon-system}
spec: {communities: [{name: a, value: "64512:1"}]}
`
	before := e.allIngress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		e.setWebhookPolicy(t, "Ignore")
		e.kubectl(t, "delete", "--ignore-not-found", "-n", "pylon-system", "ipaddresspool/bad-while-down", "community/while-down")
		e.kubectl(t, "scale", "-n", "pylon-system", "deployment/pylon-controller", "--replicas=2")
		e.waitRollout(t, "pylon-system", "deployment/pylon-controller")
	})
	e.kubectl(t, "scale", "-n", "pylon-system", "deployment/pylon-controller", "--replicas=0")
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		ps, err := e.pods(ctx, "pylon-system", "app.kubernetes.io/component=controller")
		return err == nil && len(ps) == 0, err
	}, "no controller pod left")

	// Fail: every edit waits for the controller.
	e.setWebhookPolicy(t, "Fail")
	if _, err := e.c.KubectlIn(ctx, []byte(community), "apply", "-f", "-"); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("failurePolicy Fail, no controller: apply gave %v, want a refusal (failed calling webhook)", err)
	}
	// Ignore (the default): create, fix and delete go through.
	e.setWebhookPolicy(t, "Ignore")
	if _, err := e.c.KubectlIn(ctx, []byte(community), "apply", "-f", "-"); err != nil {
		t.Fatalf("failurePolicy Ignore, no controller: apply of a valid Community: %v", err)
	}
	e.kubectl(t, "delete", "-n", "pylon-system", "community/while-down")
	if _, err := e.c.KubectlIn(ctx, []byte(bad), "apply", "-f", "-"); err != nil {
		t.Fatalf("failurePolicy Ignore, no controller: apply of an invalid pool: %v", err)
	}

	// A controller starting on an invalid configuration has none to put
	// in force: the leader waits, not ready, and changes no Service; the
	// standby is ready and serves the webhook.
	e.kubectl(t, "scale", "-n", "pylon-system", "deployment/pylon-controller", "--replicas=2")
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		ps, err := e.readyPods(ctx, "pylon-system", "app.kubernetes.io/component=controller")
		return err == nil && len(ps) >= 1, err
	}, "a controller replica is ready")
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		out, err := e.c.Kubectl(ctx, "get", "configurationstate", "-n", "pylon-system", "controller",
			"-o", `jsonpath={.status.conditions[?(@.type=="Valid")].status} {.status.error}`)
		return strings.HasPrefix(string(out), "False") && strings.Contains(string(out), "bad-while-down"), err
	}, "the controller reports the pool that slipped in as invalid")
	if after := e.allIngress(t); !maps.EqualFunc(before, after, func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) {
		t.Errorf("addresses changed while the controller was down and came back with an invalid pool:\nbefore %v\nafter  %v", before, after)
	}
	// Fixed by deleting it (the standby answers the webhook): the leader
	// loads the configuration and both replicas are ready.
	e.kubectl(t, "delete", "-n", "pylon-system", "ipaddresspool/bad-while-down")
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		out, err := e.c.Kubectl(ctx, "get", "configurationstate", "-n", "pylon-system", "controller",
			"-o", `jsonpath={.status.conditions[?(@.type=="Valid")].status}`)
		return string(out) == "True", err
	}, "the controller's configuration is valid again")
	e.waitRollout(t, "pylon-system", "deployment/pylon-controller")
	if after := e.allIngress(t); !maps.EqualFunc(before, after, func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) {
		t.Errorf("addresses changed once the configuration was fixed:\nbefore %v\nafter  %v", before, after)
	}
}

// setWebhookPolicy sets the failurePolicy of Pylon's webhook.
func (e *env) setWebhookPolicy(t testing.TB, policy string) {
	t.Helper()
	e.kubectl(t, "patch", "validatingwebhookconfiguration", "pylon-validating-webhook", "--type=json",
		"-p", `[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"`+policy+`"}]`)
}
