package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/bench"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

// benchCmd runs the lab benchmarks (package bench) and prints and saves a
// report.
func benchCmd(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var only listFlag
	fs.Var(&only, "only", "run only these scenarios (comma-separated, repeatable)")
	trials := fs.Int("trials", 0, "trials per scenario (0: each scenario's default)")
	clients := fs.Int("clients", 0, "concurrent clients creating the scale scenarios' 1,000 Services (0: 4)")
	rate := fs.Float64("rate", 0, "Services per second of bgp-scale-paced's creates (0: MetalLB's pace, 1,000 in 13 s)")
	keep := fs.Bool("keep", false, "keep each lab's run directory (logs) under e2etest/.runs")
	speakerArgs := fs.String("speaker-args", "", "extra speaker flags for every lab, space-separated (e.g. \"--heartbeat-timeout=60ms\")")
	listOnly := fs.Bool("list", false, "list the scenarios and exit")
	out := fs.String("out", defaultOutDir(), "directory for the report files (bench-TIME.md and .json)")
	verbose := fs.Bool("v", false, "log the labs' progress to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	all := bench.All()
	if err := bench.Validate(all); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab bench:", err)
		return 1
	}
	if *listOnly {
		for _, s := range all {
			fmt.Printf("%-24s %s\n", s.Name, s.Description)
		}
		return 0
	}
	scenarios, err := bench.Select(all, only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab bench:", err)
		return 2
	}
	if len(scenarios) == 0 {
		fmt.Fprintln(os.Stderr, "pylon-lab bench: no scenarios registered")
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "pylon-lab bench: must run as root (labs are network namespaces)")
		return 1
	}
	if missing := labtest.Missing(lab.Options{}); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "pylon-lab bench: missing: %s\n", strings.Join(missing, "; "))
		return 1
	}
	logOut := io.Discard
	if *verbose {
		logOut = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if done, err := lab.Reap(ctx); err != nil || len(done) > 0 {
		fmt.Fprintf(os.Stderr, "reaped leftovers of dead labs: %v (errors: %v)\n", done, err)
	}
	bins, err := bench.StageBinaries(prereq.PylonBinDir())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab bench:", err)
		return 1
	}
	defer os.RemoveAll(bins)
	env := &bench.Env{TrialsOverride: *trials, ClientsOverride: *clients, RateOverride: *rate, SpeakerArgs: strings.Fields(*speakerArgs),
		LabOptions: lab.Options{Logger: logger, PylonBinDir: bins, KeepDir: *keep}, Log: logger, Out: os.Stdout}
	fmt.Printf("Running %d lab benchmark scenario(s); each brings up its own labs (a few minutes in all).\n", len(scenarios))
	rep := (&bench.Runner{Env: env}).Run(ctx, scenarios)
	rep.Commit = gitCommit()
	fmt.Println()
	if err := rep.WriteText(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab bench:", err)
	}
	if err := saveReport(rep, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab bench:", err)
		return 1
	}
	if rep.Failed() || ctx.Err() != nil {
		return 1
	}
	return 0
}

func defaultOutDir() string {
	if root := prereq.RepoRoot(); root != "" {
		return filepath.Join(root, "e2etest", ".runs")
	}
	return filepath.Join(os.TempDir(), "pylon-lab")
}

// saveReport writes bench-TIME.md and bench-TIME.json into dir.
func saveReport(rep *bench.Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save report: %w", err)
	}
	base := filepath.Join(dir, "bench-"+rep.Started.Format("20060102-150405"))
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{".md", rep.WriteMarkdown}, {".json", rep.WriteJSON}} {
		file, err := os.Create(base + f.ext)
		if err != nil {
			return fmt.Errorf("save report: %w", err)
		}
		err = f.write(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("save report %s: %w", file.Name(), err)
		}
	}
	fmt.Printf("\nReport saved: %s.md (and .json)\n", base)
	return nil
}

// gitCommit returns HEAD's short hash, "+dirty" when the tree has changes,
// or "unknown".
func gitCommit() string {
	root := prereq.RepoRoot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}
