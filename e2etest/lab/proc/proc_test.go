package proc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

func start(t *testing.T, script string) *proc.Process {
	t.Helper()
	p, err := proc.Start(proc.Spec{
		Name: "sh", Path: "/bin/sh", Args: []string{"-c", script},
		LogPath: filepath.Join(t.TempDir(), "sh.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(context.Background()) })
	return p
}

func TestStopGraceful(t *testing.T) {
	p := start(t, "echo hello; exec sleep 100")
	if err := p.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Fatal("not exited after Stop")
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, proc.ErrNotRunning) {
		t.Fatalf("Signal after exit = %v, want ErrNotRunning", err)
	}
	if err := p.Stop(context.Background(), time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	b, _ := os.ReadFile(p.LogPath())
	if !strings.Contains(string(b), "hello") {
		t.Fatalf("log %q lacks the output", b)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	p := start(t, "trap '' TERM; while :; do sleep 0.05; done")
	time.Sleep(50 * time.Millisecond) // let the shell install its trap
	if err := p.Stop(context.Background(), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if p.ExitError() == nil {
		t.Fatal("killed process reports a clean exit")
	}
}
