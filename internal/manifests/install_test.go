package manifests_test

import (
	"context"
	"path/filepath"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/manifests"
	"github.com/pylonlb/pylon/internal/testenv"
)

// apply server-side applies objects in order. A webhook configuration is
// deleted when the test ends: it fails closed and nothing serves it, so
// it would refuse later tests' Pylon objects.
func apply(t *testing.T, owner string, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(owner), client.ForceOwnership)
		if err != nil {
			t.Fatalf("apply %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		if o.GetKind() == "ValidatingWebhookConfiguration" {
			t.Cleanup(func() { deleteWebhookConfig(t, o.GetName()) })
		}
	}
}

// deleteWebhookConfig deletes a ValidatingWebhookConfiguration if it
// exists.
func deleteWebhookConfig(t *testing.T, name string) {
	t.Helper()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	vwc.Name = name
	if err := env.Client.Delete(context.Background(), vwc); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete webhook configuration %s: %v", name, err)
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
