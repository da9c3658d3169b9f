// Package procutil reads process facts from /proc for benchmarks and
// tests: CPU time, peak and current resident memory, and finding a process
// by its command line. Linux only.
package procutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, 100 on every Linux architecture Go
// supports for this purpose.
const clockTicks = 100

// CPUTime returns the user+system CPU time a process has used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// Fields after the command name (which may contain spaces) start after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat of pid %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse CPU times of pid %d", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// Memory returns a process's current and peak resident set size in bytes.
func Memory(pid int) (rss, peak int64, err error) {
	f, err := statusKB(pid, "VmRSS", "VmHWM")
	return f[0], f[1], err
}

// Breakdown returns a process's resident memory split into anonymous
// (heap, stacks) and file-backed (the mapped binary) parts, in bytes.
func Breakdown(pid int) (anon, file int64, err error) {
	f, err := statusKB(pid, "RssAnon", "RssFile")
	return f[0], f[1], err
}

// statusKB reads kB-valued fields of /proc/PID/status, in bytes, in the
// order asked (0 for a missing field).
func statusKB(pid int, keys ...string) ([]int64, error) {
	out := make([]int64, len(keys))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if i := slices.Index(keys, k); i >= 0 {
			if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
				out[i] = kb * 1024
			}
		}
	}
	return out, nil
}

// FindPID returns the first process whose command line satisfies match.
func FindPID(match func(cmdline []string) bool) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if match(args) {
			return strconv.Atoi(filepath.Base(d))
		}
	}
	return 0, fmt.Errorf("no matching process")
}
