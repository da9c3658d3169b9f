package ipam

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the allocator pure: it may import the
// standard library only (STYLE.md, habit 1).
func TestStandardLibraryOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/pylonlb/pylon/internal/ipam" {
			t.Errorf("ipam depends on non-standard package %s", p)
		}
	}
}
