package manifests_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/internal/manifests"
)

// failStale fails with the list of stale files and what to do.
func failStale(t *testing.T, problems []string) {
	t.Helper()
	if len(problems) > 0 {
		t.Errorf("generated files are stale; run `make generate`:\n  %s", strings.Join(problems, "\n  "))
	}
}

// TestCRDFilesCurrent checks config/crd/kustomization.yaml and the chart's
// CRD copies against config/crd/bases.
func TestCRDFilesCurrent(t *testing.T) {
	files, err := manifests.CRDFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := manifests.Stale(root, files)
	if err != nil {
		t.Fatal(err)
	}
	failStale(t, problems)
}

// TestAllInOneCurrent renders config/default and compares it with
// config/manifests/pylon.yaml.
func TestAllInOneCurrent(t *testing.T) {
	f, err := tools(t).AllInOne(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := manifests.Stale(root, []manifests.File{f})
	if err != nil {
		t.Fatal(err)
	}
	failStale(t, problems)
}

// TestCRDBasesCurrent runs controller-gen over api/ into a temporary
// directory and compares the result with config/crd/bases.
func TestCRDBasesCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen")
	}
	out := t.TempDir()
	cmd := exec.Command(goBin(), "tool", "controller-gen", "crd:crdVersions=v1", "paths=./api/...", "output:crd:artifacts:config="+out)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, msg)
	}
	want := readDir(t, out)
	got := readDir(t, filepath.Join(root, manifests.CRDBasesDir))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s is stale; run `make generate` (-generated +checked in):\n%s", manifests.CRDBasesDir, diff)
	}
}

// goBin returns the go command that runs this test.
func goBin() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readDir returns the YAML files of dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// TestWriteAndStale checks Write and Stale on a scratch tree: missing,
// changed and leftover files are reported, and Write fixes all three.
func TestWriteAndStale(t *testing.T) {
	dir := t.TempDir()
	crds := filepath.Join(dir, filepath.FromSlash(manifests.ChartCRDsDir))
	if err := os.MkdirAll(crds, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"old.yaml": "old", "a.yaml": "before"} {
		if err := os.WriteFile(filepath.Join(crds, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []manifests.File{
		{Path: manifests.ChartCRDsDir + "/a.yaml", Data: []byte("after")},
		{Path: manifests.AllInOnePath, Data: []byte("all")},
	}
	problems, err := manifests.Stale(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"charts/pylon/crds/a.yaml: out of date",
		"config/manifests/pylon.yaml: missing",
		"charts/pylon/crds/old.yaml: not generated any more",
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("Stale before Write (-want +got):\n%s", diff)
	}
	if err := manifests.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if problems, err = manifests.Stale(dir, files); err != nil || problems != nil {
		t.Errorf("Stale after Write = %v, %v; want nothing", problems, err)
	}
}
