package cmdutil

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

func TestRESTConfigSetsLimitsAndNoCompression(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := RESTConfig(path, 50, 100, "pylon-test")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 50 || cfg.Burst != 100 || cfg.UserAgent != "pylon-test" || !cfg.DisableCompression {
		t.Errorf("config QPS %v burst %d agent %q no-compression %v; want 50, 100, pylon-test, true",
			cfg.QPS, cfg.Burst, cfg.UserAgent, cfg.DisableCompression)
	}
	if _, err := RESTConfig(filepath.Join(t.TempDir(), "missing"), 1, 1, "x"); err == nil {
		t.Error("a missing kubeconfig loaded without error")
	}
}

func TestProfileHeapOnlyWhenServed(t *testing.T) {
	defer func(rate int) { goruntime.MemProfileRate = rate }(goruntime.MemProfileRate)
	for addr, want := range map[string]int{"": 0, "0": 0, "127.0.0.1:6060": HeapProfileRate} {
		ProfileHeap(addr)
		if goruntime.MemProfileRate != want {
			t.Errorf("pprof address %q: heap profile rate %d, want %d", addr, goruntime.MemProfileRate, want)
		}
	}
}

func TestTuneGCUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set for the test process")
	}
	TuneGC(33)
	if got := debug.SetGCPercent(100); got != 33 {
		t.Errorf("GC percent %d after TuneGC(33), want 33", got)
	}
	t.Setenv("GOGC", "77")
	TuneGC(33)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after TuneGC(33) with GOGC set, want it untouched (100)", got)
	}
}
