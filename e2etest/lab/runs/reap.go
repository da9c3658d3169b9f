package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/cgroups"
	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// ErrAlive is returned when asked to reap a run whose owner still lives.
var ErrAlive = errors.New("run is alive")

// EtcdDataDir is the subdirectory of a run directory that Reap deletes
// (the bulk of a run's files); logs and configs stay for inspection.
const EtcdDataDir = "etcd"

// Reap removes what a dead run left: the processes inside its namespaces,
// the namespaces, its root-link interface, its etcd data and its lock file.
// It returns a line per thing removed. It refuses a live run.
func Reap(ctx context.Context, stateDir string, info Info) ([]string, error) {
	if info.Alive {
		return nil, fmt.Errorf("reap run %s: %w (owner pid %d)", info.ID, ErrAlive, info.OwnerPid)
	}
	done, err := reapNames(ctx, info.ID)
	if info.Dir != "" {
		if rerr := os.RemoveAll(filepath.Join(info.Dir, EtcdDataDir)); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if err == nil {
		if rerr := os.Remove(filepath.Join(stateDir, info.ID.String()+".lock")); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	if err != nil {
		return done, fmt.Errorf("reap run %s: %w", info.ID, err)
	}
	return done, nil
}

// ForceReap reaps a run even if its owner still holds the lock (an owner
// that does not answer Stop). Use with care: the owner's processes die.
func ForceReap(ctx context.Context, stateDir string, info Info) ([]string, error) {
	info.Alive = false
	return Reap(ctx, stateDir, info)
}

// reapNames removes the namespaces and root link named from id.
func reapNames(ctx context.Context, id ID) ([]string, error) {
	nss, err := netns.List(id.Prefix())
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	// A cluster's pods run in cgroup subtrees named from the run, in
	// network namespaces of their own: kill them first.
	subtrees, err := cgroups.List(id.Prefix())
	if err != nil {
		errs = append(errs, err)
	}
	for _, sub := range subtrees {
		if err := cgroups.Remove(sub, 10*time.Second); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, "removed cgroup "+sub)
	}
	for _, ns := range nss {
		killed, err := ns.KillAll(ctx, 5*time.Second)
		for _, k := range killed {
			done = append(done, fmt.Sprintf("killed %s in %s", k, ns))
		}
		if err == nil {
			err = ns.Delete(ctx)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, "deleted namespace "+string(ns))
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", id.LinkName())); err == nil {
		if _, err := netns.Root.IP(ctx, "link", "del", id.LinkName()); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, "deleted interface "+id.LinkName())
		}
	}
	return done, errors.Join(errs...)
}

// ReapDead reaps every dead run in stateDir and every orphan: namespaces
// named "plab-ID-*" whose run has no lock file at all (its state directory
// was wiped). Live runs are left alone.
func ReapDead(ctx context.Context, stateDir string) ([]string, error) {
	infos, err := List(stateDir)
	if err != nil {
		return nil, err
	}
	known := map[ID]bool{}
	var done []string
	var errs []error
	for _, info := range infos {
		known[info.ID] = true
		if info.Alive {
			continue
		}
		d, err := Reap(ctx, stateDir, info)
		done, errs = append(done, d...), append(errs, err)
	}
	for _, id := range orphanIDs(known) {
		d, err := reapNames(ctx, id)
		done, errs = append(done, d...), append(errs, err)
	}
	return done, errors.Join(errs...)
}

// orphanIDs lists run ids that have namespaces but no lock file.
func orphanIDs(known map[ID]bool) []ID {
	nss, _ := netns.List(NamePrefix)
	seen := map[ID]bool{}
	var out []ID
	for _, ns := range nss {
		rest := strings.TrimPrefix(string(ns), NamePrefix)
		idStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		id, err := ParseID(idStr)
		if err != nil || known[id] || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// Stop asks a live run's owner to clean up and exit (SIGTERM, after
// checking that the pid still belongs to the owner that took the lock), and
// waits until the lock is released or ctx ends.
func Stop(ctx context.Context, stateDir string, info Info) error {
	if !info.Alive {
		return nil
	}
	start, err := StartTime(info.OwnerPid)
	if err != nil || start != info.OwnerStart {
		return fmt.Errorf("stop run %s: owner pid %d is not the process that locked the run", info.ID, info.OwnerPid)
	}
	if err := syscall.Kill(info.OwnerPid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop run %s: signal owner %d: %w", info.ID, info.OwnerPid, err)
	}
	path := filepath.Join(stateDir, info.ID.String()+".lock")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cur, err := read(path)
		if err != nil || !cur.Alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop run %s: owner %d still holds the lock: %w", info.ID, info.OwnerPid, ctx.Err())
		case <-tick.C:
		}
	}
}

// Leftovers lists what of run id still exists on the machine: namespaces,
// the root-link interface, and processes whose command line mentions
// marker (the run directory, which every process of a run has among its
// arguments). An empty result means the run cleaned up after itself.
func Leftovers(id ID, marker string) []string {
	var out []string
	nss, _ := netns.List(id.Prefix())
	for _, ns := range nss {
		out = append(out, "namespace "+string(ns))
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", id.LinkName())); err == nil {
		out = append(out, "interface "+id.LinkName())
	}
	if subtrees, _ := cgroups.List(id.Prefix()); len(subtrees) > 0 {
		for _, sub := range subtrees {
			out = append(out, "cgroup "+sub)
		}
	}
	if marker == "" {
		return out
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cmd := netns.Cmdline(pid); strings.Contains(cmd, marker) {
			out = append(out, fmt.Sprintf("process %d: %s", pid, cmd))
		}
	}
	return out
}
