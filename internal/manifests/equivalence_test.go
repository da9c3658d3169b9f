package manifests_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pylonlb/pylon/internal/manifests"
)

// TestChartMatchesKustomize checks that the chart with default values
// installs what config/default installs: the same objects, RBAC rules,
// bindings, workload specs and CRDs. Labels and the Namespace object
// (helm does not own it) may differ.
func TestChartMatchesKustomize(t *testing.T) {
	kust := index(kustomizeDefault(t))
	helm := index(chart(t, manifests.HelmOptions{Namespace: "pylon-system"}))
	delete(kust, key{"Namespace", "", "pylon-system"})
	if diff := cmp.Diff(slices.Sorted(mapKeys(kust)), slices.Sorted(mapKeys(helm))); diff != "" {
		t.Fatalf("objects (-kustomize +chart):\n%s", diff)
	}
	for k, want := range kust {
		got := helm[k]
		for _, field := range comparedFields[k.kind] {
			w, _, _ := unstructured.NestedFieldNoCopy(want.Object, field...)
			g, _, _ := unstructured.NestedFieldNoCopy(got.Object, field...)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s %s: %v (-kustomize +chart):\n%s", k.kind, k.name, field, diff)
			}
		}
	}
}

// comparedFields lists, per kind, the fields that must be equal.
var comparedFields = map[string][][]string{
	"ServiceAccount":                 {{"metadata", "namespace"}},
	"ClusterRole":                    {{"rules"}},
	"Role":                           {{"rules"}},
	"ClusterRoleBinding":             {{"roleRef"}, {"subjects"}},
	"RoleBinding":                    {{"roleRef"}, {"subjects"}},
	"Deployment":                     {{"spec"}},
	"DaemonSet":                      {{"spec"}},
	"CustomResourceDefinition":       {{"spec"}},
	"Service":                        {{"spec"}},
	"ValidatingWebhookConfiguration": {{"webhooks"}},
	"PodDisruptionBudget":            {{"spec"}},
}

type key struct{ kind, namespace, name string }

func (k key) String() string { return k.kind + " " + k.namespace + "/" + k.name }

// index maps objects by kind, namespace and name.
func index(objs []*unstructured.Unstructured) map[key]*unstructured.Unstructured {
	m := map[key]*unstructured.Unstructured{}
	for _, o := range objs {
		m[key{o.GetKind(), o.GetNamespace(), o.GetName()}] = o
	}
	return m
}

// mapKeys returns the keys of m as strings.
func mapKeys(m map[key]*unstructured.Unstructured) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k.String()) {
				return
			}
		}
	}
}
