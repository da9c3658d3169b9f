// Package netns creates, enters and removes the named Linux network
// namespaces the lab is built from.
//
// A namespace is named as `ip netns` names it (a bind mount under
// /var/run/netns). Commands run inside one through `ip netns exec`, which
// also gives the child a /sys that shows the namespace's own interfaces.
// Go code that must open sockets inside a namespace uses [NS.Do], which runs
// a function on an OS thread switched into the namespace, or the helpers
// built on it ([NS.DialContext], [NS.Listen]).
//
// Everything here needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is where `ip netns` keeps the bind mounts of named namespaces.
const Dir = "/var/run/netns"

// ErrNotExist is returned when a named namespace does not exist.
var ErrNotExist = errors.New("network namespace does not exist")

// NS is the name of a named network namespace. The zero value is the root
// namespace of the calling process: commands then run without `ip netns exec`.
type NS string

// Root is the calling process's own network namespace.
const Root NS = ""

// Path returns the bind mount of the namespace ("" for Root).
func (n NS) Path() string {
	if n == Root {
		return ""
	}
	return filepath.Join(Dir, string(n))
}

// String returns the name, or "root" for the root namespace.
func (n NS) String() string {
	if n == Root {
		return "root"
	}
	return string(n)
}

// Exists reports whether the named namespace exists.
func (n NS) Exists() bool {
	if n == Root {
		return true
	}
	_, err := os.Stat(n.Path())
	return err == nil
}

// Create makes a new named namespace with `ip netns add`.
func Create(ctx context.Context, name string) (NS, error) {
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return Root, fmt.Errorf("create namespace %q: invalid name", name)
	}
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return Root, fmt.Errorf("create namespace %q: %w", name, err)
	}
	return NS(name), nil
}

// List returns the named namespaces whose names start with prefix, sorted.
func List(prefix string) ([]NS, error) {
	entries, err := os.ReadDir(Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []NS
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, NS(e.Name()))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Command returns a command that runs name with args inside the namespace.
// Its process id is that of name itself: `ip netns exec` execs it.
func (n NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if n == Root {
		return exec.CommandContext(ctx, name, args...)
	}
	full := append([]string{"netns", "exec", string(n), name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Run runs a command inside the namespace and returns its standard output.
// A failure carries the command line and its standard error.
func (n NS) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runCmd(n.Command(ctx, name, args...))
}

// IP runs `ip -n NS args...` and returns its standard output.
func (n NS) IP(ctx context.Context, args ...string) ([]byte, error) {
	if n != Root {
		args = append([]string{"-n", string(n)}, args...)
	}
	return run(ctx, "ip", args...)
}

// IPBatch runs several `ip` commands (one per line, without the leading
// "ip") in one process: `ip -n NS -batch -`. It stops at the first failure.
func (n NS) IPBatch(ctx context.Context, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	args := []string{"-batch", "-"}
	if n != Root {
		args = append([]string{"-n", string(n)}, args...)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if _, err := runCmd(cmd); err != nil {
		return fmt.Errorf("in namespace %s: %w", n, err)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runCmd(exec.CommandContext(ctx, name, args...))
}

func runCmd(cmd *exec.Cmd) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
