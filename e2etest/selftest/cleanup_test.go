//go:build e2e

package selftest

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/runs"
)

// TestCloseLeavesNothing: after Close, no namespace, interface, process,
// directory or lock file of the run is left.
func TestCloseLeavesNothing(t *testing.T) {
	labtest.Require(t, lab.Options{})
	ctx := context.Background()
	t0 := time.Now()
	l, err := lab.Up(ctx, lab.Options{Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	up := time.Since(t0)
	if _, err := l.StartFRR(ctx, "router", l.RouterBGPConfig("router", lab.RouterASN, 0)); err != nil {
		l.Close(ctx)
		t.Fatal(err)
	}
	if _, err := l.StartBIRDRaw(ctx, "node1", "protocol device {}\n"); err != nil {
		l.Close(ctx)
		t.Fatal(err)
	}
	if left := l.Leftovers(); len(left) == 0 {
		t.Error("Leftovers() is empty for a running lab: the check proves nothing")
	}
	t1 := time.Now()
	if err := l.Close(ctx); err != nil {
		t.Error(err)
	}
	t.Logf("lab %s: up %v (control plane %v), down %v", l.ID, up.Round(time.Millisecond),
		l.Timings.ControlPlane.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if left := l.Leftovers(); len(left) > 0 {
		t.Errorf("left after Close: %v", left)
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory %s still exists: %v", l.Dir, err)
	}
	infos, _ := runs.List(runs.DefaultStateDir)
	for _, i := range infos {
		if i.ID == l.ID {
			t.Errorf("lock of run %s still exists", l.ID)
		}
	}
}

// TestReapAfterCrash: a lab whose owner is killed with SIGKILL (no cleanup
// at all) is removed by Reap, FRR (which outlives its parent) included.
func TestReapAfterCrash(t *testing.T) {
	labtest.Require(t, lab.Options{NetworkOnly: true})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"=hold-lab")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	id, dir, ok := strings.Cut(strings.TrimSpace(line), " ")
	runID, perr := runs.ParseID(id)
	if err != nil || !ok || perr != nil {
		cmd.Process.Kill()
		t.Fatalf("lab holder said %q (%v, %v)", line, err, perr)
	}
	if left := runs.Leftovers(runID, dir); len(left) == 0 {
		t.Fatal("the held lab has no leftovers to reap: the check proves nothing")
	}
	cmd.Process.Kill()
	cmd.Wait()

	done, err := lab.Reap(context.Background())
	if err != nil {
		t.Errorf("reap: %v", err)
	}
	t.Logf("reaped: %v", done)
	if left := runs.Leftovers(runID, dir); len(left) > 0 {
		t.Errorf("left after reap: %v", left)
	}
	os.RemoveAll(dir) // reaping keeps a dead run's logs; this test does not need them
}
