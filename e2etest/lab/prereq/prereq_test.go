package prereq

import (
	"os"
	"strings"
	"testing"
)

func TestMissing(t *testing.T) {
	got := Missing("sh", "/nonexistent/program-for-test")
	want := 1
	if os.Geteuid() != 0 {
		want = 2
	}
	if len(got) != want || !strings.Contains(got[len(got)-1], "/nonexistent/program-for-test") {
		t.Errorf("Missing = %v", got)
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot()
	if root == "" {
		t.Skip("not inside the repository")
	}
	if _, err := os.Stat(root + "/go.mod"); err != nil {
		t.Errorf("RepoRoot() = %q without go.mod", root)
	}
	t.Setenv("KUBEBUILDER_ASSETS", "/x")
	t.Setenv("PYLON_BIN", "/y")
	if KubeBinDir() != "/x" || PylonBinDir() != "/y" {
		t.Errorf("environment overrides ignored: %q %q", KubeBinDir(), PylonBinDir())
	}
}
