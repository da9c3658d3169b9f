package manifests_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pylonlb/pylon/internal/manifests"
	"github.com/pylonlb/pylon/internal/testenv"
)

// root is the repository root.
var root = testenv.RepoRoot()

// tools returns the helper binaries, skipping the test loudly when one is
// missing (failing under CI=true).
func tools(t testing.TB) manifests.Tools {
	t.Helper()
	tl := manifests.FindTools(root)
	if tl.KustomizeBin != "" && tl.HelmBin != "" {
		return tl
	}
	msg := "kustomize or helm missing in " + filepath.Join(root, manifests.ToolsDir) + ": run `make tools`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return tl
}

// kustomizeDefault renders config/default.
func kustomizeDefault(t testing.TB) []*unstructured.Unstructured {
	t.Helper()
	out, err := tools(t).Kustomize(context.Background(), filepath.Join(root, manifests.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// chart renders the chart with CRDs.
func chart(t testing.TB, o manifests.HelmOptions) []*unstructured.Unstructured {
	t.Helper()
	o.IncludeCRDs = true
	out, err := tools(t).HelmTemplate(context.Background(), filepath.Join(root, manifests.ChartDir), o)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := manifests.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// find returns the object of that kind and name, or fails the test.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %q in the rendered manifests", kind, name)
	return nil
}
