// Package labtest ties a lab to a Go test: it checks prerequisites (skip
// loudly outside CI, fail in CI), starts the lab, closes it when the test
// ends (keeping the run directory's logs when the test failed), closes every
// lab on Ctrl-C, and waits for conditions.
//
// A suite's TestMain must call [Main]: the lab re-executes the test binary
// as each node's HTTP server, and Main is what turns it into one.
//
//	func TestMain(m *testing.M) { labtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		l := labtest.Start(t, lab.Options{})
//		...
//	}
package labtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/nodehttp"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// The labs of this test process, closed on SIGINT/SIGTERM. Package state
// because a signal concerns the whole process.
var (
	mu       sync.Mutex
	live     = map[*lab.Lab]bool{}
	mainUsed bool
)

// Main runs the node HTTP server when this process was started as one;
// otherwise it reaps dead labs' leftovers, arranges for live labs to be
// closed on Ctrl-C, and runs the tests.
func Main(m *testing.M) {
	nodehttp.MaybeRun()
	mu.Lock()
	mainUsed = true
	mu.Unlock()
	if os.Geteuid() == 0 {
		if done, err := lab.Reap(context.Background()); err != nil || len(done) > 0 {
			fmt.Fprintf(os.Stderr, "labtest: reaped leftovers of dead labs: %v (errors: %v)\n", done, err)
		}
	}
	go closeOnSignal()
	os.Exit(m.Run())
}

func closeOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	sig := <-ch
	fmt.Fprintf(os.Stderr, "labtest: %v: closing labs\n", sig)
	mu.Lock()
	labs := make([]*lab.Lab, 0, len(live))
	for l := range live {
		labs = append(labs, l)
	}
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, l := range labs {
		l.KeepDir()
		if err := l.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "labtest:", err)
		}
	}
	os.Exit(130)
}

// Missing lists the prerequisites a lab with opts lacks.
func Missing(opts lab.Options) []string { return lab.MissingPrograms(opts) }

// Require skips t (fails it with CI=true) when a lab with opts cannot run
// here, for tests that manage a lab's lifetime themselves.
func Require(t testing.TB, opts lab.Options) {
	t.Helper()
	prereq.Check(t, Missing(opts))
}

// RequirePylon skips t (fails it with CI=true) when Pylon's binaries
// (controller, speaker) are missing from opts.PylonBinDir (default
// prereq.PylonBinDir()): call it before Start.
func RequirePylon(t testing.TB, opts lab.Options) {
	t.Helper()
	dir := opts.PylonBinDir
	if dir == "" {
		dir = prereq.PylonBinDir()
	}
	var missing []string
	for _, name := range []string{"controller", "speaker"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, filepath.Join(dir, name))
		}
	}
	if len(missing) > 0 {
		prereq.Check(t, []string{fmt.Sprintf("Pylon binaries %v (run make build, or set PYLON_BIN)", missing)})
	}
}

// Start brings a lab up for t and closes it when t ends. Missing
// prerequisites skip t (fail it with CI=true). The run directory is kept
// when t failed.
func Start(t testing.TB, opts lab.Options) *lab.Lab {
	t.Helper()
	Require(t, opts)
	mu.Lock()
	used := mainUsed
	mu.Unlock()
	if !used && opts.HelperPath == "" {
		t.Fatal("labtest.Start: the suite's TestMain must call labtest.Main(m) (the lab re-executes the test binary as the nodes' HTTP servers)")
	}
	if opts.Logger == nil {
		opts.Logger = Logger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	live[l] = true
	mu.Unlock()
	t.Cleanup(func() { stop(t, l) })
	return l
}

func stop(t testing.TB, l *lab.Lab) {
	if t.Failed() {
		l.KeepDir()
		t.Logf("lab %s failed: logs kept in %s", l.ID, l.Dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Errorf("close lab: %v", err)
	}
	mu.Lock()
	delete(live, l)
	mu.Unlock()
}

// Logger returns a logger that writes to t's log (info and above).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// logWriter sends the lab's log lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b[:len(b)-min(1, len(b))]))
	return len(b), nil
}

// Eventually polls cond every 10 ms until it holds, failing t after
// timeout with the message and cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	if err := wait.For(context.Background(), timeout, 10*time.Millisecond, cond); err != nil {
		t.Fatalf("%s: not within %v: %v", fmt.Sprintf(format, args...), timeout, err)
	}
}

// EventuallyPylon is Eventually that also fails at once, with the log's
// end, if a Pylon process of l exited unexpectedly.
func EventuallyPylon(t testing.TB, l *lab.Lab, timeout time.Duration, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	Eventually(t, timeout, func(ctx context.Context) (bool, error) {
		if err := l.CheckPylon(); err != nil {
			t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
		}
		return cond(ctx)
	}, format, args...)
}
