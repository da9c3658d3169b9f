// Package prereq decides whether a lab test can run here: it needs root
// and a few programs. Outside CI a missing prerequisite skips the test with
// a loud message; with CI=true it fails the test, so CI never goes green by
// skipping.
package prereq

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// InCI reports whether the CI environment variable is "true".
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing lists what is absent among root and the given programs (names
// looked up in PATH, or absolute paths). An empty result means all present.
func Missing(programs ...string) []string {
	var out []string
	if os.Geteuid() != 0 {
		out = append(out, "root (run as root: the lab creates network namespaces)")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			out = append(out, fmt.Sprintf("program %s (%v)", p, err))
		}
	}
	return out
}

// Require skips (or, in CI, fails) t unless root and all programs exist.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	Check(t, Missing(programs...))
}

// Check skips (or, in CI, fails) t when missing is not empty.
func Check(t testing.TB, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := "LAB PREREQUISITES MISSING, test not run: " + strings.Join(missing, "; ") +
		" (install: apt-get install -y frr bird2 gobgpd iproute2 iputils-ping iputils-arping curl tcpdump; " +
		"kube binaries: hack/kube-tools.sh)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot returns the directory of Pylon's go.mod, searched upward from
// the working directory ("" when not inside the repository).
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/pylonlb/pylon\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// KubeBinDir returns where etcd and kube-apiserver are: $KUBEBUILDER_ASSETS,
// else the cache hack/kube-tools.sh fills (.cache/kube/bin in the repository).
func KubeBinDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	if root := RepoRoot(); root != "" {
		return filepath.Join(root, ".cache", "kube", "bin")
	}
	return ""
}

// PylonBinDir returns where the controller and speaker binaries are:
// $PYLON_BIN, else bin/ in the repository (filled by `make build`).
func PylonBinDir() string {
	if d := os.Getenv("PYLON_BIN"); d != "" {
		return d
	}
	if root := RepoRoot(); root != "" {
		return filepath.Join(root, "bin")
	}
	return ""
}

// KubeBinaries returns the paths of etcd and kube-apiserver in KubeBinDir.
func KubeBinaries() []string {
	d := KubeBinDir()
	return []string{filepath.Join(d, "etcd"), filepath.Join(d, "kube-apiserver")}
}

// ImagesDir returns where the lab cluster's image archives are: $PYLON_IMAGES,
// else the cache hack/images.sh fills (.cache/images in the repository).
func ImagesDir() string {
	return envOrRepo("PYLON_IMAGES", ".cache", "images")
}

// Topology returns the path of a shipped containerlab topology
// (e2etest/topologies/NAME.clab.yml; "" outside the repository).
func Topology(name string) string {
	if root := RepoRoot(); root != "" {
		return filepath.Join(root, "e2etest", "topologies", name+".clab.yml")
	}
	return ""
}

// ToolsBinDir returns where helm and kustomize are: $PYLON_TOOLS, else the
// cache hack/tools.sh fills (.cache/tools/bin in the repository).
func ToolsBinDir() string {
	return envOrRepo("PYLON_TOOLS", ".cache", "tools", "bin")
}

// envOrRepo returns $key when set, else the path inside the repository
// ("" outside it).
func envOrRepo(key string, parts ...string) string {
	if d := os.Getenv(key); d != "" {
		return d
	}
	if root := RepoRoot(); root != "" {
		return filepath.Join(append([]string{root}, parts...)...)
	}
	return ""
}
