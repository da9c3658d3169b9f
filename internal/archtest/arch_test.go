package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	Standard   bool
}

const module = "github.com/pylonlb/pylon/"

// listPackages lists the module's packages (with the e2e tag, so the
// suites count too).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "e2e", "-json", module+"...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

// owners says which single package may import a library (by prefix).
var owners = map[string]string{
	"github.com/osrg/gobgp":           module + "internal/bgp",
	"github.com/hashicorp/memberlist": module + "internal/membership",
	"github.com/mdlayher/":            module + "internal/l2",
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for lib, owner := range owners {
				if strings.HasPrefix(imp, lib) && !strings.HasPrefix(p.ImportPath, owner) {
					t.Errorf("%s imports %s; only %s may", p.ImportPath, imp, owner)
				}
			}
		}
		switch {
		case p.ImportPath == module+"internal/ipam" || p.ImportPath == module+"internal/election":
			for _, d := range p.Deps {
				if strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
					t.Errorf("%s depends on %s; it must use the standard library only", p.ImportPath, d)
				}
			}
		case isNetworkPackage(p.ImportPath):
			for _, d := range p.Deps {
				if strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/") {
					t.Errorf("%s depends on %s; network packages must not import Kubernetes", p.ImportPath, d)
				}
			}
		}
	}
}

// isNetworkPackage reports the packages that own a network library.
func isNetworkPackage(path string) bool {
	for _, owner := range owners {
		if path == owner {
			return true
		}
	}
	return false
}

// speakerForbidden are dependencies the speaker binary must not link: each
// drags in the typed clients or scheme registrations of every built-in API
// group, whose init code keeps ~14 MiB of the binary resident on every
// node (package kube explains).
var speakerForbidden = []string{
	"sigs.k8s.io/controller-runtime",
	"k8s.io/client-go/kubernetes",
	"k8s.io/client-go/informers",
	"k8s.io/client-go/tools/events",
}

func TestSpeakerLinksNoClientset(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath != module+"speaker" {
			continue
		}
		for _, d := range p.Deps {
			for _, f := range speakerForbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("the speaker depends on %s; only the controller may", d)
				}
			}
		}
		return
	}
	t.Fatal("package speaker not found")
}
