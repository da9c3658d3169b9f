package manifests_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/internal/manifests"
	"github.com/pylonlb/pylon/internal/testenv"
)

// TestChartMonitoringAndPolicies: the opt-in ServiceMonitors scrape over
// HTTPS with the scraper's token, the PrometheusRule carries the same
// rules as config/prometheus, the NetworkPolicy opens the controller's
// ports only, and the PodDisruptionBudget exists only with replicas > 1.
func TestChartMonitoringAndPolicies(t *testing.T) {
	objs := chart(t, manifests.HelmOptions{Namespace: "pylon-system", Set: chartVariants["monitoring and policies"]})
	for _, comp := range []string{"controller", "speaker"} {
		sm := find(t, objs, "ServiceMonitor", "pylon-"+comp)
		eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		want := []any{map[string]any{"port": "metrics", "scheme": "https",
			"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token", "tlsConfig": map[string]any{"insecureSkipVerify": true}}}
		if diff := cmp.Diff(want, eps); diff != "" {
			t.Errorf("ServiceMonitor %s endpoints (-want +got):\n%s", comp, diff)
		}
		find(t, objs, "Service", "pylon-"+comp+"-metrics")
	}

	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), manifests.AlertRulesPath))
	if err != nil {
		t.Fatal(err)
	}
	var kust map[string]any
	if err := yaml.Unmarshal(data, &kust); err != nil {
		t.Fatal(err)
	}
	rule := find(t, objs, "PrometheusRule", "pylon")
	if diff := cmp.Diff(kust["spec"], rule.Object["spec"]); diff != "" {
		t.Errorf("the chart's PrometheusRule differs from %s (-kustomize +chart):\n%s", manifests.AlertRulesPath, diff)
	}

	np := find(t, objs, "NetworkPolicy", "pylon-controller")
	ports, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	want := []any{map[string]any{"ports": []any{
		map[string]any{"protocol": "TCP", "port": int64(9443)},
		map[string]any{"protocol": "TCP", "port": int64(7472)},
		map[string]any{"protocol": "TCP", "port": int64(7474)},
	}}}
	if diff := cmp.Diff(want, ports); diff != "" {
		t.Errorf("NetworkPolicy ingress (-want +got):\n%s", diff)
	}

	find(t, chart(t, manifests.HelmOptions{Namespace: "pylon-system"}), "PodDisruptionBudget", "pylon-controller")
	for _, o := range chart(t, manifests.HelmOptions{Namespace: "pylon-system", Set: []string{"controller.replicas=1"}}) {
		if o.GetKind() == "PodDisruptionBudget" {
			t.Error("a PodDisruptionBudget with one controller replica would block every drain")
		}
	}
}
