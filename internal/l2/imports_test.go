package l2

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package's dependencies where STYLE.md puts them:
// no Kubernetes, no BGP, no membership library.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./l2test").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/osrg/gobgp", "github.com/hashicorp/memberlist"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("l2 depends on %s", p)
			}
		}
	}
}
