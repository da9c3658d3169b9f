// Package testenv starts a real kube-apiserver and etcd (built by
// hack/kube-tools.sh) with Pylon's CRDs installed, for integration tests.
// The API server runs with a dual-stack service range so dual-stack
// Services can be tested.
//
// When the binaries are missing (KUBEBUILDER_ASSETS unset), tests are
// skipped with a loud message, except under CI=true where that is a
// failure.
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/internal/cmdutil"
	"github.com/pylonlb/pylon/internal/procutil"
	"github.com/pylonlb/pylon/internal/scheme"
)

// ServiceCIDRs is the API server's dual-stack service range.
const ServiceCIDRs = "10.96.0.0/16,fd00:96::/112"

// Env is a running API server.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Client client.Client
}

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts an API server for a test binary; call it from TestMain and
// Stop it afterwards. It returns nil and a reason when the binaries are
// missing outside CI.
func Start() (*Env, string, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		def := filepath.Join(RepoRoot(), ".cache", "kube", "bin")
		if _, err := os.Stat(filepath.Join(def, "kube-apiserver")); err == nil {
			assets = def
		}
	}
	if assets == "" {
		reason := "KUBEBUILDER_ASSETS is not set and .cache/kube/bin has no kube-apiserver: run `make kube-tools` (or `make test`)"
		if os.Getenv("CI") == "true" {
			return nil, "", fmt.Errorf("%s", reason)
		}
		return nil, reason, nil
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", ServiceCIDRs)
	cfg, err := env.Start()
	if err != nil {
		return nil, "", fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	scheme, err := scheme.All()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, "", fmt.Errorf("create client: %w", err)
	}
	return &Env{env: env, Config: cfg, Client: c}, "", nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error {
	if e == nil {
		return nil
	}
	return e.env.Stop()
}

// Main runs a package's tests against one API server. It is meant as the
// body of TestMain: it sets *env, runs the tests and stops the server.
func Main(m *testing.M, env **Env) int {
	logToStderrIfAsked()
	e, skip, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	if e == nil {
		fmt.Fprintln(os.Stderr, "testenv: SKIPPING API server tests:", skip)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stop:", err)
	}
	return code
}

// Require skips the test when no API server is running.
func Require(t testing.TB, e *Env) {
	t.Helper()
	if e == nil {
		t.Skip("no API server: KUBEBUILDER_ASSETS not set (run `make kube-tools`)")
	}
}

// Namespace creates a namespace with a unique name for one test and
// deletes it afterwards.
func Namespace(t testing.TB, e *Env, prefix string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.GenerateName = prefix + "-"
	ns.Labels = labels
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// logToStderrIfAsked sends controller-runtime's logs to stderr when
// PYLON_TEST_LOG is set (to a level: debug, info, ...), and discards them
// otherwise.
func logToStderrIfAsked() {
	level := os.Getenv("PYLON_TEST_LOG")
	if level == "" {
		ctrllog.SetLogger(logr.Discard())
		return
	}
	_, log, err := cmdutil.Logger(level)
	if err != nil {
		log = logr.Discard()
	}
	ctrllog.SetLogger(log)
}

// KubeConfig returns a kubeconfig for an administrator of the API server,
// for processes started by tests.
func (e *Env) KubeConfig() ([]byte, error) {
	u, err := e.env.AddUser(envtest.User{Name: "pylon-test-admin", Groups: []string{"system:masters"}}, e.Config)
	if err != nil {
		return nil, fmt.Errorf("add admin user: %w", err)
	}
	return u.KubeConfig()
}

// APIServerPID returns the process ID of the running kube-apiserver, for
// measuring its CPU time.
func (e *Env) APIServerPID() (int, error) {
	port := e.env.ControlPlane.GetAPIServer().SecureServing.Port
	return procutil.FindPID(func(cmdline []string) bool {
		return filepath.Base(cmdline[0]) == "kube-apiserver" && slices.Contains(cmdline, "--secure-port="+port)
	})
}

// Eventually polls cond every 10 ms until it holds, failing the test with
// cond's message after 20 s. The bound guards against hangs on a shared,
// noisy machine; it is not a speed target.
func Eventually(t testing.TB, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
