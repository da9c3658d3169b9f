package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/runs"
)

// down stops the selected live labs (asking their owner process to clean
// up) and reaps dead ones and orphans.
func down(args []string) int {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	force := fs.Bool("force", false, "reap labs whose owner does not stop within --timeout")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for a live lab's owner to clean up")
	upOnly := fs.Bool("up", false, "without IDs: stop only the labs started by `pylon-lab up` (make lab), not test suites' labs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	infos, err := runs.List(runs.DefaultStateDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab down:", err)
		return 1
	}
	want := fs.Args()
	var errs []error
	for _, info := range infos {
		if len(want) > 0 && !slices.Contains(want, info.ID.String()) {
			continue
		}
		if len(want) == 0 && *upOnly && info.Alive && !startedByUp(info) {
			continue
		}
		errs = append(errs, stopOne(ctx, info, *timeout, *force))
	}
	if len(want) == 0 {
		done, err := runs.ReapDead(ctx, runs.DefaultStateDir)
		printLines(done)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab down:", err)
		return 1
	}
	return 0
}

func stopOne(ctx context.Context, info runs.Info, timeout time.Duration, force bool) error {
	if info.Alive {
		fmt.Printf("stopping lab %s (owner pid %d)\n", info.ID, info.OwnerPid)
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := runs.Stop(sctx, runs.DefaultStateDir, info)
		cancel()
		if err == nil {
			return nil
		}
		if !force {
			return fmt.Errorf("%w (use --force to reap it anyway)", err)
		}
		done, err := runs.ForceReap(ctx, runs.DefaultStateDir, info)
		printLines(done)
		return err
	}
	done, err := runs.Reap(ctx, runs.DefaultStateDir, info)
	printLines(done)
	return err
}

// startedByUp reports whether a lab was started by `pylon-lab up` (it
// serves a control socket).
func startedByUp(info runs.Info) bool {
	_, err := os.Stat(filepath.Join(info.Dir, controlSocketName))
	return err == nil
}

func printLines(lines []string) {
	for _, l := range lines {
		fmt.Println(l)
	}
}

// list prints the labs on this machine.
func list(args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(os.Stderr, "pylon-lab list: no arguments expected")
		return 2
	}
	infos, err := runs.List(runs.DefaultStateDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab list:", err)
		return 1
	}
	for _, i := range infos {
		state := "dead (pylon-lab down reaps it)"
		if i.Alive {
			state = fmt.Sprintf("alive, owner pid %d", i.OwnerPid)
		}
		fmt.Printf("%s  started %s  %s  %s\n", i.ID, i.Started.Format(time.RFC3339), state, i.Dir)
	}
	return 0
}
