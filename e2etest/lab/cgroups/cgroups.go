// Package cgroups creates, empties and removes the lab's cgroup subtrees in
// every hierarchy of the machine (cgroup v1, hybrid: one mount per
// controller under /sys/fs/cgroup, plus the v2 "unified" mount).
//
// A lab node's kubelet puts its pods under its own subtree (its
// cgroupRoot), named from the run id, so that several kubelets share the
// machine's hierarchies and a dead run's pods can be found and killed.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Base is where the hierarchies are mounted.
const Base = "/sys/fs/cgroup"

// Hierarchies returns the mounted hierarchies' directories (Base/cpu,
// Base/memory, ..., Base/unified).
func Hierarchies() ([]string, error) {
	entries, err := os.ReadDir(Base)
	if err != nil {
		return nil, fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	var out []string
	for _, e := range entries {
		d := filepath.Join(Base, e.Name())
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// Create makes the subtree name (e.g. "plab-1a2b-node1") in every
// hierarchy. In the cpuset hierarchy it copies the parent's CPUs and
// memory nodes, which a new v1 cpuset lacks.
func Create(name string) error {
	hs, err := Hierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		d := filepath.Join(h, name)
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		if filepath.Base(h) != "cpuset" {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				return fmt.Errorf("create cgroup %s: %w", d, err)
			}
			if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
				return fmt.Errorf("create cgroup %s: %w", d, err)
			}
		}
	}
	return nil
}

// List returns the subtrees at the top of the hierarchies whose names
// start with prefix.
func List(prefix string) ([]string, error) {
	hs, err := Hierarchies()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range hs {
		entries, _ := os.ReadDir(h)
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
				seen[e.Name()] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// Pids returns the processes anywhere in subtree name (read from the pids
// hierarchy, or the first one that has the subtree).
func Pids(name string) ([]int, error) {
	hs, err := Hierarchies()
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, h := range hs {
		root := filepath.Join(h, name)
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	out := make([]int, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// Remove kills every process in subtree name (SIGKILL), waits up to
// timeout for them to go, then removes the subtree depth-first from every
// hierarchy. A subtree that does not exist is not an error.
func Remove(name string, timeout time.Duration) error {
	if name == "" || strings.Contains(name, "..") {
		return fmt.Errorf("remove cgroup %q: refused", name)
	}
	deadline := time.Now().Add(timeout)
	for {
		pids, err := Pids(name)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: processes %v did not exit within %v", name, pids, timeout)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hs, err := Hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		errs = append(errs, removeTree(filepath.Join(h, name)))
	}
	return errors.Join(errs...)
}

// removeTree removes a cgroup directory and its children, deepest first
// (cgroup directories are removed with rmdir, never with their files).
func removeTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("remove cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}
