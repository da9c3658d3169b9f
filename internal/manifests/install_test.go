package manifests_test

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/manifests"
	"github.com/pylonlb/pylon/internal/testenv"
)

// apply server-side applies objects in order.
func apply(t *testing.T, owner string, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(owner), client.ForceOwnership)
		if err != nil {
			t.Fatalf("apply %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// TestInstall applies each way of installing Pylon to a real API server
// (the CRDs are already there: applying them again must work) and checks
// that RBAC grants each component what it needs and no more. The two
// installs share cluster-wide objects, so they run in order.
func TestInstall(t *testing.T) {
	testenv.Require(t, env)
	t.Run("kustomize", func(t *testing.T) {
		apply(t, "test-kustomize", kustomizeDefault(t))
		checkAccess(t, env.Client, "pylon-system", "pylon-controller", controllerAllowed, controllerDenied)
		checkAccess(t, env.Client, "pylon-system", "pylon-speaker", speakerAllowed, speakerDenied)
	})
	t.Run("all-in-one", func(t *testing.T) {
		objs, err := manifests.DecodeFile(filepath.Join(root, manifests.AllInOnePath))
		if err != nil {
			t.Fatal(err)
		}
		apply(t, "test-all-in-one", objs)
	})
	t.Run("chart", func(t *testing.T) {
		const ns = "pylon-chart"
		ns1 := &corev1.Namespace{}
		ns1.Name = ns
		if err := env.Client.Create(context.Background(), ns1); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		apply(t, "test-chart", chart(t, manifests.HelmOptions{Namespace: ns}))
		checkAccess(t, env.Client, ns, "pylon-controller", controllerAllowed, controllerDenied)
		checkAccess(t, env.Client, ns, "pylon-speaker", speakerAllowed, speakerDenied)
		// The cluster-wide bindings moved to the chart's namespace.
		checkAccess(t, env.Client, "pylon-system", "pylon-speaker", nil, []access{"list services", "list nodes"})
	})
}
