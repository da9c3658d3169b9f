package membership

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps Kubernetes out of this package: Kubernetes types are
// converted at the edge, by the speaker.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("membership depends on %s", dep)
		}
	}
}
