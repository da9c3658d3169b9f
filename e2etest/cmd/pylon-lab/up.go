package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type upFlags struct {
	opts    lab.Options
	router  string
	pylon   bool
	demo    bool
	verbose bool
	apply   listFlag
}

func parseUp(args []string) (upFlags, error) {
	var f upFlags
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.IntVar(&f.opts.Nodes, "nodes", 3, "number of node namespaces")
	fs.BoolVar(&f.opts.Router2, "router2", false, "add a second router behind the first (multi-hop BGP)")
	fs.StringVar(&f.opts.Topology, "topology", "", "containerlab topology file the lab realises (default: e2etest/topologies/l2.clab.yml, or bgp.clab.yml with --router2, for 3 nodes)")
	fs.BoolVar(&f.opts.NetworkOnly, "network-only", false, "no control plane: namespaces, bridge, router, HTTP servers only")
	fs.BoolVar(&f.opts.KeepDir, "keep", false, "keep the run directory (logs) after Ctrl-C")
	fs.StringVar(&f.router, "router", "frr", "BGP router on the router host: frr, bird or none (ignored with --demo: FRR)")
	fs.BoolVar(&f.pylon, "pylon", true, "start Pylon's controller and speakers when bin/ has them")
	fs.BoolVar(&f.demo, "demo", false, "make lab's demo: sample configuration (L2 + BGP pools, FRR), demo Services, and what they show")
	fs.BoolVar(&f.verbose, "v", false, "log the lab's progress in detail")
	fs.Var(&f.apply, "apply", "YAML file or directory to apply after Pylon starts (repeatable)")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if err == nil && f.opts.Topology == "" && f.opts.Nodes == 3 {
		name := "l2"
		if f.opts.Router2 {
			name = "bgp"
		}
		if p := prereq.Topology(name); p != "" {
			if _, serr := os.Stat(p); serr == nil {
				f.opts.Topology = p
			}
		}
	}
	if err == nil && f.demo && (f.opts.NetworkOnly || !f.pylon) {
		err = errors.New("--demo needs the control plane and Pylon (drop --network-only / --pylon=false)")
	}
	return f, err
}

// step prints a progress line for a step that takes a while and returns
// a function printing how long it took.
func step(format string, args ...any) func() {
	fmt.Printf("==> "+format+"\n", args...)
	t0 := time.Now()
	return func() { fmt.Printf("    done in %v\n", time.Since(t0).Round(100*time.Millisecond)) }
}

// up brings a lab up and keeps it until SIGINT/SIGTERM (`pylon-lab down`
// sends SIGTERM), then removes it.
func up(args []string) int {
	f, err := parseUp(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "pylon-lab up: must run as root (it creates network namespaces): sudo make lab")
		return 1
	}
	if missing := labtest.Missing(f.opts); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "pylon-lab up: missing: %s (make lab installs them)\n", strings.Join(missing, "; "))
		return 1
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	f.opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if done, err := lab.Reap(ctx); err != nil || len(done) > 0 {
		fmt.Fprintf(os.Stderr, "reaped leftovers of dead labs: %v (errors: %v)\n", done, err)
	}
	done := step("Bringing the lab up: %d nodes, client, router, outside host; etcd + kube-apiserver; Nodes, CRDs, RBAC (~5 s)", f.opts.Nodes)
	l, err := lab.Up(ctx, f.opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 1
	}
	done()
	return closeAfter("up", "lab", l.ID.String(), run(ctx, l, f), l.Close)
}

// closeAfter removes what a command brought up (a lab or a cluster, what)
// once it has run, and returns the command's exit code (1 if removing
// failed).
func closeAfter(cmd, what, id string, code int, closeFn func(context.Context) error) int {
	t0 := time.Now()
	fmt.Printf("\nRemoving %s %s...\n", what, id)
	if err := closeFn(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "pylon-lab %s: %v\n", cmd, err)
		return 1
	}
	fmt.Printf("%s %s removed in %v.\n", strings.ToUpper(what[:1])+what[1:], id, time.Since(t0).Round(time.Millisecond))
	return code
}

// run populates the lab, serves its control socket and prints what to try
// until ctx ends.
func run(ctx context.Context, l *lab.Lab, f upFlags) int {
	srv := &controlServer{lab: l}
	facts, err := populate(ctx, l, f, srv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		if ctx.Err() == nil {
			l.KeepDir()
			fmt.Fprintf(os.Stderr, "logs kept in %s\n", l.Dir)
		}
		return 1
	}
	wait, err := serveControl(ctx, l.Dir, srv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 1
	}
	defer wait()
	fmt.Println()
	if f.demo {
		printHosts(os.Stdout, l)
		printTryNext(os.Stdout, l, facts)
	} else {
		fmt.Println(l.Describe())
	}
	fmt.Printf("Lab %s up (network %v, control plane %v). Ctrl-C or `make lab-down` removes it.\n", l.ID,
		l.Timings.Network.Round(time.Millisecond), l.Timings.ControlPlane.Round(time.Millisecond))
	<-ctx.Done()
	return 0
}

// populate starts the router, Pylon (with --demo: the demo's
// configuration, Services and their facts, printed) and the requested
// manifests.
func populate(ctx context.Context, l *lab.Lab, f upFlags, srv *controlServer) (*demo.Facts, error) {
	var facts *demo.Facts
	var err error
	if f.demo {
		facts, err = runDemo(ctx, l, srv, os.Stdout)
	} else {
		err = startPlain(ctx, l, f)
	}
	if err != nil {
		return nil, err
	}
	return facts, applyFiles(ctx, l, f.apply)
}

// applyFiles applies YAML files or directories of them.
func applyFiles(ctx context.Context, l *lab.Lab, paths []string) error {
	if len(paths) > 0 && l.Admin == nil {
		return errors.New("--apply needs the control plane (drop --network-only)")
	}
	for _, path := range paths {
		files := []string{path}
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			files, _ = kube.ManifestFiles(path)
		}
		if err := l.Admin.ApplyFiles(ctx, lab.PylonNamespace, files...); err != nil {
			return err
		}
	}
	return nil
}

// runDemo is `make lab`: Pylon with the sample configuration and the demo
// Services, whose facts it prints; it arms the control server's show.
func runDemo(ctx context.Context, l *lab.Lab, srv *controlServer, w io.Writer) (*demo.Facts, error) {
	d, err := demo.Start(ctx, l, w)
	if err != nil {
		return nil, err
	}
	srv.show = d.Show
	return d.Facts, nil
}

// startPlain starts the router and Pylon without the demo.
func startPlain(ctx context.Context, l *lab.Lab, f upFlags) error {
	cfg := l.RouterBGPConfig("router", lab.RouterASN, 0)
	switch f.router {
	case "frr":
		if _, err := l.StartFRR(ctx, "router", cfg); err != nil {
			return err
		}
	case "bird":
		if _, err := l.StartBIRD(ctx, "router", cfg); err != nil {
			return err
		}
	case "none":
	default:
		return fmt.Errorf("unknown --router %q (frr, bird or none)", f.router)
	}
	if f.pylon && !f.opts.NetworkOnly {
		err := l.StartPylon(ctx, lab.PylonOptions{})
		if errors.Is(err, lab.ErrNoPylonBinaries) {
			fmt.Fprintf(os.Stderr, "note: %v; the lab runs without Pylon\n", err)
		} else if err != nil {
			return err
		}
	}
	return nil
}
