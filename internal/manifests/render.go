package manifests

import (
	"context"
	"fmt"
)

// Kustomize renders the kustomization in dir (kustomize build).
func (t Tools) Kustomize(ctx context.Context, dir string) ([]byte, error) {
	out, err := run(ctx, t.KustomizeBin, "build", dir)
	if err != nil {
		return nil, fmt.Errorf("render kustomization %s: %w", dir, err)
	}
	return out, nil
}

// HelmOptions selects what a chart is rendered with.
type HelmOptions struct {
	// Release and Namespace are the release's name and namespace.
	Release, Namespace string
	// Set holds --set arguments (key=value).
	Set []string
	// IncludeCRDs adds the chart's crds/ directory to the output.
	IncludeCRDs bool
}

// helmArgs returns the arguments shared by template and lint.
func (o HelmOptions) helmArgs() []string {
	var args []string
	if o.Namespace != "" {
		args = append(args, "--namespace", o.Namespace)
	}
	for _, s := range o.Set {
		args = append(args, "--set", s)
	}
	return args
}

// HelmTemplate renders the chart in dir (helm template).
func (t Tools) HelmTemplate(ctx context.Context, dir string, o HelmOptions) ([]byte, error) {
	release := o.Release
	if release == "" {
		release = "pylon"
	}
	args := append([]string{"template", release, dir}, o.helmArgs()...)
	if o.IncludeCRDs {
		args = append(args, "--include-crds")
	}
	out, err := run(ctx, t.HelmBin, args...)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", dir, err)
	}
	return out, nil
}

// HelmLint lints the chart in dir strictly (warnings fail) and returns
// helm's report.
func (t Tools) HelmLint(ctx context.Context, dir string, o HelmOptions) ([]byte, error) {
	args := append([]string{"lint", "--strict", dir}, o.helmArgs()...)
	out, err := run(ctx, t.HelmBin, args...)
	if err != nil {
		return out, fmt.Errorf("lint chart %s: %w", dir, err)
	}
	return out, nil
}
