package manifests_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pylonlb/pylon/internal/manifests"
)

// renderings returns both ways of installing Pylon.
func renderings(t *testing.T) map[string][]*unstructured.Unstructured {
	return map[string][]*unstructured.Unstructured{
		"kustomize": kustomizeDefault(t),
		"chart":     chart(t, manifests.HelmOptions{Namespace: "pylon-system"}),
	}
}

// TestRBACIsNarrow checks every role for broad grants: wildcards,
// privilege-granting verbs, and Secrets or workloads cluster-wide.
func TestRBACIsNarrow(t *testing.T) {
	forbiddenVerbs := []string{"*", "escalate", "bind", "impersonate", "deletecollection"}
	clusterForbidden := []string{"secrets", "pods", "roles", "rolebindings", "clusterroles", "clusterrolebindings", "serviceaccounts/token"}
	for name, objs := range renderings(t) {
		t.Run(name, func(t *testing.T) {
			roles := 0
			for _, o := range objs {
				if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
					continue
				}
				roles++
				rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
				for i, r := range rules {
					rule := r.(map[string]any)
					for _, field := range []string{"apiGroups", "resources", "verbs", "resourceNames"} {
						if slices.Contains(stringList(rule[field]), "*") {
							t.Errorf("%s %s rule %d: wildcard in %s", o.GetKind(), o.GetName(), i, field)
						}
					}
					for _, v := range stringList(rule["verbs"]) {
						if slices.Contains(forbiddenVerbs, v) {
							t.Errorf("%s %s rule %d: verb %q", o.GetKind(), o.GetName(), i, v)
						}
					}
					if o.GetKind() != "ClusterRole" {
						continue
					}
					for _, res := range stringList(rule["resources"]) {
						if ownRole(o.GetName(), rule) {
							continue // reading its own ClusterRole: the owner of what it writes
						}
						if slices.Contains(clusterForbidden, res) {
							t.Errorf("ClusterRole %s rule %d grants %s cluster-wide", o.GetName(), i, res)
						}
					}
				}
			}
			if roles != 5 {
				t.Errorf("found %d roles, want 5 (a Role and a ClusterRole per component, and pylon-metrics-reader)", roles)
			}
		})
	}
}

// TestWorkloadSecurity checks the containers' privileges.
func TestWorkloadSecurity(t *testing.T) {
	for name, objs := range renderings(t) {
		t.Run(name, func(t *testing.T) {
			speaker := find(t, objs, "DaemonSet", "pylon-speaker")
			ctrl := find(t, objs, "Deployment", "pylon-controller")
			want := map[string]any{
				"runAsUser": int64(0), "runAsNonRoot": false, "allowPrivilegeEscalation": false,
				"readOnlyRootFilesystem": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"},
				"capabilities": map[string]any{"drop": []any{"ALL"}, "add": []any{"NET_RAW"}},
			}
			if diff := cmp.Diff(want, container(t, speaker)["securityContext"]); diff != "" {
				t.Errorf("speaker securityContext (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(true, podSpec(t, speaker)["hostNetwork"]); diff != "" {
				t.Errorf("speaker hostNetwork (-want +got):\n%s", diff)
			}
			want = map[string]any{
				"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
				"capabilities": map[string]any{"drop": []any{"ALL"}},
			}
			if diff := cmp.Diff(want, container(t, ctrl)["securityContext"]); diff != "" {
				t.Errorf("controller securityContext (-want +got):\n%s", diff)
			}
			if nonRoot, _, _ := unstructured.NestedBool(podSpec(t, ctrl), "securityContext", "runAsNonRoot"); !nonRoot {
				t.Error("controller pod does not set runAsNonRoot")
			}
			for _, o := range []*unstructured.Unstructured{ctrl, speaker} {
				if _, ok := podSpec(t, o)["hostPID"]; ok {
					t.Errorf("%s sets hostPID", o.GetName())
				}
			}
		})
	}
}

// stringList returns a rule field as strings (nil when absent).
func stringList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

// ownRole reports whether rule grants only get of the ClusterRole named
// name itself.
func ownRole(name string, rule map[string]any) bool {
	return slices.Equal(stringList(rule["resources"]), []string{"clusterroles"}) &&
		slices.Equal(stringList(rule["resourceNames"]), []string{name}) &&
		slices.Equal(stringList(rule["verbs"]), []string{"get"})
}
