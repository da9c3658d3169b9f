//go:build e2e

package l2

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
	"github.com/pylonlb/pylon/internal/cli"
)

// testPlugin: the kubectl-pylon binary, run against the lab with the
// admin's kubeconfig, names the node that really answers (the client's
// neighbour entry and its HTTP request say which): status, who-has and
// explain (elected), for both families.
func testPlugin(t *testing.T, s *suite) {
	bin := filepath.Join(prereq.PylonBinDir(), "kubectl-pylon")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kubectl-pylon: %v (make build builds it)", err)
	}
	svc := s.create(t, svcSpec{name: "plugin", families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", s.l.AdminKubeconfig, "--pylon-namespace", lab.PylonNamespace}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl-pylon %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	var rep cli.ServiceReport
	if err := json.Unmarshal([]byte(run("status", "-n", "default", "plugin", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.L2 == nil || rep.L2.Node != owner || rep.Problem != "" {
		t.Errorf("status: %+v; the client reaches %s", rep, owner)
	}
	for _, ip := range svc.ips {
		if out := run("who-has", ip.String()); !strings.Contains(out, "default/plugin") || !strings.Contains(out, owner) {
			t.Errorf("who-has %s:\n%s\nwant Service default/plugin announced by %s", ip, out, owner)
		}
	}
	// A speaker (re)started by an earlier case publishes its interfaces
	// in its ConfigurationState a moment after it answers: wait for every
	// speaker's, then explain judges by them.
	var out string
	err := wait.For(context.Background(), settleTimeout, 100*time.Millisecond, func(context.Context) (bool, error) {
		out = run("explain", "-n", "default", "plugin")
		return !strings.Contains(out, "assumes"), nil
	})
	if err != nil {
		t.Errorf("explain still assumes interfaces, as if a speaker published none: %v\n%s", err, out)
	}
	if !lineWith(out, "* "+owner, "elected") {
		t.Errorf("explain does not mark %s elected:\n%s", owner, out)
	}
}

// lineWith reports whether one line of out holds every part.
func lineWith(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}
