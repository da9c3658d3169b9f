package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrToolMissing is returned when a helper binary is not built; run
// `make tools` (hack/tools.sh).
var ErrToolMissing = errors.New("helper binary missing: run `make tools`")

// Tools are the helper binaries used for rendering.
type Tools struct {
	// KustomizeBin and HelmBin are paths to the binaries; "" when missing.
	KustomizeBin, HelmBin string
}

// ToolsDir is where hack/tools.sh puts the binaries, relative to the
// repository root.
const ToolsDir = ".cache/tools/bin"

// FindTools returns the helper binaries: $KUSTOMIZE and $HELM when set,
// otherwise those in root/.cache/tools/bin. The PATH is not searched, so
// every machine renders with the versions hack/tools.sh pins. Missing
// binaries are left empty, and rendering with them returns ErrToolMissing.
func FindTools(root string) Tools {
	find := func(env, name string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		p := filepath.Join(root, ToolsDir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
		return ""
	}
	return Tools{KustomizeBin: find("KUSTOMIZE", "kustomize"), HelmBin: find("HELM", "helm")}
}

// run runs a binary and returns its standard output, also on failure
// (helm lint reports there); the error carries its standard error.
func run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	if bin == "" {
		return nil, ErrToolMissing
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
