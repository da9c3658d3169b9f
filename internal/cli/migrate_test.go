package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/internal/migrate/metallbtest"
	"github.com/pylonlb/pylon/internal/testenv"
)

const (
	poolYAML = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec: {addresses: [192.168.10.0/24]}
`
	peerYAML = `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: metallb-system}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 10.0.0.1, vrf: red}
`
)

// runPlugin runs the plugin in-process.
func runPlugin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMigrateExitStatuses(t *testing.T) {
	pool := writeFile(t, "pool.yaml", poolYAML)
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		code    int
		out     string // substring of stdout
		errLine string // substring of stderr
	}{
		{name: "clean", args: []string{"migrate", "metallb", "-f", pool}, code: 0, out: "kind: IPAddressPool"},
		{name: "stdin and file", stdin: peerYAML, args: []string{"migrate", "metallb", "-f", pool, "-f", "-", "--allow-loss"}, code: 0,
			out: "# LOST spec.vrf", errLine: "allowed by --allow-loss"},
		{name: "loss", stdin: peerYAML, args: []string{"migrate", "metallb", "-f", "-"}, code: 1,
			out: "# LOST spec.vrf = \"red\"", errLine: "error: 1 MetalLB setting(s) have no Pylon equivalent"},
		{name: "pylon namespace", args: []string{"migrate", "metallb", "-f", pool, "--pylon-namespace", "lb"}, code: 0, out: "namespace: lb"},
		{name: "not yaml", stdin: "key: [unclosed\n", args: []string{"migrate", "metallb", "-f", "-"}, code: 2,
			errLine: "error: standard input: document 1: not YAML"},
		{name: "unknown kind", stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", args: []string{"migrate", "metallb", "-f", "-"}, code: 2,
			errLine: `error: standard input: document 1: Service "web" (apiVersion "v1"): not a MetalLB object`},
		{name: "missing file", args: []string{"migrate", "metallb", "-f", filepath.Join(t.TempDir(), "nope.yaml")}, code: 2, errLine: "no such file"},
		{name: "empty", stdin: "---\n", args: []string{"migrate", "metallb", "-f", "-"}, code: 2, errLine: "no MetalLB objects in the input"},
		{name: "no source", args: []string{"migrate"}, code: 2, errLine: `"migrate metallb"`},
		{name: "other source", args: []string{"migrate", "cilium"}, code: 2, errLine: `"migrate metallb"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runPlugin(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errLine) {
				t.Errorf("exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.code, tc.out, out, tc.errLine, errOut)
			}
			if tc.code == ExitInvalid && strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("invalid input must be reported on one line, got:\n%s", errOut)
			}
		})
	}
}

// TestMigrateFromCluster reads MetalLB's objects from a real API server
// (both BGPPeer versions served) and prints what the same objects give
// from a file.
func TestMigrateFromCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, skip, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	if env == nil {
		t.Skip(skip)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	if err := metallbtest.Install(ctx, env.Config); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kc := writeFile(t, "kubeconfig", string(kubeconfig))

	// No MetalLB objects yet: nothing to do.
	if code, out, errOut := runPlugin(t, "", "--kubeconfig", kc, "migrate", "metallb"); code != 0 || out != "" || !strings.Contains(errOut, "nothing to migrate") {
		t.Fatalf("empty cluster: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	ns := "metallb-system"
	if err := env.Client.Create(ctx, namespace(ns)); err != nil {
		t.Fatal(err)
	}
	oldPeer := "apiVersion: metallb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: old, namespace: metallb-system}\nspec: {myASN: 64500, peerASN: 64502, peerAddress: 10.0.0.2}\n"
	all := poolYAML + "---\n" + peerYAML + "---\n" + oldPeer
	if err := metallbtest.Create(ctx, env.Config, ns, all); err != nil {
		t.Fatal(err)
	}
	code, fromCluster, errOut := runPlugin(t, "", "--kubeconfig", kc, "migrate", "metallb")
	if code != 1 || !strings.Contains(errOut, "spec.vrf") {
		t.Fatalf("exit %d (want 1), stderr:\n%s", code, errOut)
	}
	// The server serves both peers as v1beta2, the version the plugin reads.
	fromFile := strings.ReplaceAll(all, "metallb.io/v1beta1\nkind: BGPPeer", "metallb.io/v1beta2\nkind: BGPPeer")
	_, want, _ := runPlugin(t, fromFile, "migrate", "metallb", "-f", "-")
	if d := cmp.Diff(want, fromCluster); d != "" {
		t.Errorf("cluster output differs from file output (-file +cluster):\n%s", d)
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
