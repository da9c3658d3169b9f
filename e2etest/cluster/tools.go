package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

// Kubectl runs the kubectl built by hack/kube-tools.sh against the cluster
// (the admin's kubeconfig) and returns its standard output. A failure
// carries the command line and kubectl's standard error.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return c.KubectlIn(ctx, nil, args...)
}

// KubectlIn is Kubectl with stdin.
func (c *Cluster) KubectlIn(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	return c.run(ctx, stdin, filepath.Join(c.opts.Lab.KubeBinDir, "kubectl"), args...)
}

// Helm runs the helm built by hack/tools.sh against the cluster.
func (c *Cluster) Helm(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, nil, filepath.Join(prereq.ToolsBinDir(), "helm"), args...)
}

func (c *Cluster) run(ctx context.Context, stdin []byte, path string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "HELM_CACHE_HOME="+filepath.Join(c.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.Dir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(c.Dir, "helm", "data"))
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", filepath.Base(path), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
