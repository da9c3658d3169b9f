package bgp

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoKubernetesImports keeps k8s.io/* out of this package's dependencies.
func TestNoKubernetesImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "./", "./bgptest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("internal/bgp depends on %s", dep)
		}
	}
}
