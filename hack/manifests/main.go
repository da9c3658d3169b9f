// Command manifests writes the files derived from Pylon's CRDs and
// kustomize bases: config/crd/kustomization.yaml, the chart's CRD copies
// and the all-in-one config/manifests/pylon.yaml. `make generate` runs it
// from the repository root after controller-gen; it needs the kustomize
// binary from `make tools`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/pylonlb/pylon/internal/manifests"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manifests:", err)
		os.Exit(1)
	}
}

func run() error {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	crds, err := manifests.CRDFiles(*root)
	if err != nil {
		return err
	}
	// The all-in-one rendering reads the CRD kustomization: write it first.
	if err := manifests.Write(*root, crds); err != nil {
		return err
	}
	all, err := manifests.FindTools(*root).AllInOne(context.Background(), *root)
	if err != nil {
		return err
	}
	return manifests.Write(*root, append(crds, all))
}
