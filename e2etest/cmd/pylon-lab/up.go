package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type upFlags struct {
	opts   lab.Options
	router string
	pylon  bool
	apply  listFlag
}

func parseUp(args []string) (upFlags, error) {
	var f upFlags
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.IntVar(&f.opts.Nodes, "nodes", 3, "number of node namespaces")
	fs.BoolVar(&f.opts.Router2, "router2", false, "add a second router behind the first (multi-hop BGP)")
	fs.BoolVar(&f.opts.NetworkOnly, "network-only", false, "no control plane: namespaces, bridge, router, HTTP servers only")
	fs.BoolVar(&f.opts.KeepDir, "keep", false, "keep the run directory (logs) after Ctrl-C")
	fs.StringVar(&f.router, "router", "frr", "BGP router on the router host: frr, bird or none")
	fs.BoolVar(&f.pylon, "pylon", true, "start Pylon's controller and speakers when bin/ has them")
	fs.Var(&f.apply, "apply", "YAML file or directory to apply after Pylon starts (repeatable)")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return f, err
}

// up brings a lab up and keeps it until SIGINT/SIGTERM (`pylon-lab down`
// sends SIGTERM), then removes it.
func up(args []string) int {
	f, err := parseUp(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 2
	}
	if missing := labtest.Missing(f.opts); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "pylon-lab up: missing: %s\n", strings.Join(missing, "; "))
		return 1
	}
	f.opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if done, err := lab.Reap(ctx); err != nil || len(done) > 0 {
		f.opts.Logger.Info("reaped leftovers of dead labs", "removed", done, "err", err)
	}
	l, err := lab.Up(ctx, f.opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 1
	}
	code := 0
	if err := populate(ctx, l, f); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		code = 1
	} else {
		fmt.Println(l.Describe())
		fmt.Printf("Lab up in %v (network %v, control plane %v). Ctrl-C to remove it.\n",
			l.Timings.Total.Round(time.Millisecond), l.Timings.Network.Round(time.Millisecond),
			l.Timings.ControlPlane.Round(time.Millisecond))
		<-ctx.Done()
	}
	t0 := time.Now()
	if err := l.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab up:", err)
		return 1
	}
	fmt.Printf("Lab %s removed in %v.\n", l.ID, time.Since(t0).Round(time.Millisecond))
	return code
}

// populate starts the router, Pylon and the requested manifests. This is
// where `make lab`'s demo (sample configuration, demo Service, printing the
// assigned IPs and who announces them) plugs in: pass its YAML with --apply.
func populate(ctx context.Context, l *lab.Lab, f upFlags) error {
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
	if len(f.apply) > 0 && l.Admin == nil {
		return errors.New("--apply needs the control plane (drop --network-only)")
	}
	for _, path := range f.apply {
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
