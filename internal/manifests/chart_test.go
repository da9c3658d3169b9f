package manifests_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pylonlb/pylon/internal/manifests"
)

// chartVariants are value sets the chart must lint and render with.
var chartVariants = map[string][]string{
	"defaults":         nil,
	"speaker only":     {"controller.enabled=false"},
	"controller only":  {"speaker.enabled=false"},
	"webhook disabled": {"webhook.enabled=false"},
	"everything set": {
		"lbClass=pylonlb.io/lb", "logLevel=debug", "controller.logLevel=warn",
		"image.repository=registry.example/pylon", "image.tag=v1.2.3", "image.pullPolicy=Always",
		"imagePullSecrets[0].name=regcred", "speaker.memberlist.port=7950", "speaker.metricsPort=9473",
		"controller.metricsPort=9472", "controller.healthPort=9474", "speaker.extraArgs[0]=--memberlist-probe-interval=200ms",
		"speaker.priorityClassName=system-node-critical", "controller.podAnnotations.a=b", "speaker.heartbeat.port=7951",
		"metrics.certSecret=metrics-tls",
	},
	"no fast detector":        {"speaker.heartbeat.port=0"},
	"plain-text metrics":      {"metrics.secure=false"},
	"monitoring and policies": {"metrics.serviceMonitor=true", "metrics.prometheusRule=true", "controller.networkPolicy=true"},
}

func TestChartLint(t *testing.T) {
	tl := tools(t)
	for name, set := range chartVariants {
		t.Run(name, func(t *testing.T) {
			out, err := tl.HelmLint(context.Background(), filepath.Join(root, manifests.ChartDir), manifests.HelmOptions{Namespace: "pylon-system", Set: set})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestChartVariants renders each value set and checks what it controls.
func TestChartVariants(t *testing.T) {
	for name, set := range chartVariants {
		t.Run(name, func(t *testing.T) {
			objs := chart(t, manifests.HelmOptions{Namespace: "pylon-system", Set: set})
			ctrl, spk := workload(objs, "Deployment", "pylon-controller"), workload(objs, "DaemonSet", "pylon-speaker")
			if (ctrl == nil) != strings.Contains(name, "speaker only") || (spk == nil) != strings.Contains(name, "controller only") {
				t.Fatalf("controller rendered %t, speaker rendered %t", ctrl != nil, spk != nil)
			}
			if (find(t, objs, "CustomResourceDefinition", "ipaddresspools.pylonlb.io")) == nil {
				t.Fatal("CRDs missing")
			}
			checkWebhook(t, objs, ctrl != nil && !strings.Contains(name, "webhook disabled"))
		})
	}
}

// TestChartValues checks that values reach the containers.
func TestChartValues(t *testing.T) {
	objs := chart(t, manifests.HelmOptions{Namespace: "pylon-system", Set: chartVariants["everything set"]})
	ctrl := container(t, find(t, objs, "Deployment", "pylon-controller"))
	spk := container(t, find(t, objs, "DaemonSet", "pylon-speaker"))
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"controller image", ctrl["image"], "registry.example/pylon:v1.2.3"},
		{"controller pull policy", ctrl["imagePullPolicy"], "Always"},
		{"controller args", ctrl["args"], []any{
			"--namespace=$(POD_NAMESPACE)", "--log-level=warn", "--metrics-bind-address=:9472",
			"--metrics-secure=true", "--metrics-cert-dir=/etc/pylon/metrics-tls",
			"--health-probe-bind-address=:9474", "--leader-elect", "--lb-class=pylonlb.io/lb",
		}},
		{"speaker args", spk["args"], []any{
			"--node-name=$(NODE_NAME)", "--namespace=$(POD_NAMESPACE)", "--log-level=debug",
			"--memberlist-bind-addr=$(POD_IP)", "--memberlist-port=7950", "--memberlist-key-file=/etc/pylon/memberlist/key",
			"--heartbeat-port=7951", "--metrics-bind-address=:9473",
			"--metrics-secure=true", "--metrics-cert-dir=/etc/pylon/metrics-tls", "--pod-template-generation=$(POD_TEMPLATE_GENERATION)", "--lb-class=pylonlb.io/lb", "--memberlist-probe-interval=200ms",
		}},
		{"speaker ports", spk["ports"], []any{
			map[string]any{"name": "metrics", "containerPort": int64(9473)},
			map[string]any{"name": "memberlist-tcp", "containerPort": int64(7950), "protocol": "TCP"},
			map[string]any{"name": "memberlist-udp", "containerPort": int64(7950), "protocol": "UDP"},
			map[string]any{"name": "heartbeat-udp", "containerPort": int64(7951), "protocol": "UDP"},
			map[string]any{"name": "heartbeat-tcp", "containerPort": int64(7951), "protocol": "TCP"},
		}},
		{"speaker liveness probe", spk["livenessProbe"].(map[string]any)["httpGet"],
			map[string]any{"path": "/healthz", "port": "metrics", "scheme": "HTTPS"}},
		{"pull secrets", podSpec(t, find(t, objs, "DaemonSet", "pylon-speaker"))["imagePullSecrets"], []any{map[string]any{"name": "regcred"}}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestChartPlainMetrics: metrics.secure=false serves plain HTTP (probes
// included) and drops the metrics reader role.
func TestChartPlainMetrics(t *testing.T) {
	objs := chart(t, manifests.HelmOptions{Namespace: "pylon-system", Set: chartVariants["plain-text metrics"]})
	spk := container(t, find(t, objs, "DaemonSet", "pylon-speaker"))
	if diff := cmp.Diff(map[string]any{"path": "/readyz", "port": "metrics"}, spk["readinessProbe"].(map[string]any)["httpGet"]); diff != "" {
		t.Errorf("speaker readiness probe (-want +got):\n%s", diff)
	}
	if !slices.Contains(spk["args"].([]any), any("--metrics-secure=false")) {
		t.Errorf("speaker args %v lack --metrics-secure=false", spk["args"])
	}
	for _, o := range objs {
		if o.GetName() == "pylon-metrics-reader" {
			t.Errorf("%s pylon-metrics-reader rendered with plain-text metrics", o.GetKind())
		}
	}
}

// TestChartSchemaRejects checks that the values schema is strict.
func TestChartSchemaRejects(t *testing.T) {
	tl := tools(t)
	for _, set := range []string{
		"unknown=1", "speaker.memberlist.unknown=1", "controller.unknown=1", "image.unknown=1",
		"logLevel=loud", "speaker.memberlist.port=0", "controller.metricsPort=70000",
		"speaker.extraArgs[0]=no-dashes", "image.pullPolicy=Sometimes", "controller.enabled=maybe",
		"webhook.unknown=1", "webhook.timeoutSeconds=31", "webhook.enabled=maybe",
	} {
		t.Run(set, func(t *testing.T) {
			_, err := tl.HelmTemplate(context.Background(), filepath.Join(root, manifests.ChartDir), manifests.HelmOptions{Set: []string{set}})
			if err == nil || !strings.Contains(err.Error(), "at '") {
				t.Fatalf("helm template --set %s: error %v, want a schema violation", set, err)
			}
		})
	}
}

// workload returns the object of that kind and name, or nil.
func workload(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// podSpec returns a workload's pod template spec.
func podSpec(t testing.TB, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	spec, ok, err := unstructured.NestedMap(o.Object, "spec", "template", "spec")
	if !ok || err != nil {
		t.Fatalf("%s %s has no pod template: %v", o.GetKind(), o.GetName(), err)
	}
	return spec
}

// container returns a workload's only container.
func container(t testing.TB, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _ := podSpec(t, o)["containers"].([]any)
	if len(cs) != 1 {
		t.Fatalf("%s %s has %d containers, want 1", o.GetKind(), o.GetName(), len(cs))
	}
	return cs[0].(map[string]any)
}

// checkWebhook checks that the webhook's Service, configuration and
// controller port are rendered exactly when on, and that the controller
// is told to serve it or not.
func checkWebhook(t *testing.T, objs []*unstructured.Unstructured, on bool) {
	t.Helper()
	svc, vwc := workload(objs, "Service", "pylon-webhook-service"), workload(objs, "ValidatingWebhookConfiguration", "pylon-validating-webhook")
	if (svc != nil) != on || (vwc != nil) != on {
		t.Errorf("webhook Service rendered %t, configuration rendered %t, want %t", svc != nil, vwc != nil, on)
	}
	ctrl := workload(objs, "Deployment", "pylon-controller")
	if ctrl == nil {
		return
	}
	c := container(t, ctrl)
	args, _ := c["args"].([]any)
	ports, _ := c["ports"].([]any)
	disabled := slices.Contains(args, any("--webhook-port=0"))
	hasPort := slices.ContainsFunc(ports, func(p any) bool { return p.(map[string]any)["name"] == "webhook" })
	if disabled == on || hasPort != on {
		t.Errorf("controller: --webhook-port=0 %t, webhook port %t, want the webhook on: %t", disabled, hasPort, on)
	}
}
