// Package proc supervises the lab's long-running child processes: the API
// server, routers, the per-node HTTP servers and Pylon's controller and
// speakers. Each process runs inside a network namespace (through
// `ip netns exec`, which execs the program, so the pid is the program's own),
// in its own process group (a terminal's Ctrl-C reaches only the lab, which
// then stops its children in order), with standard output and error appended
// to a log file.
//
// Processes are started with a parent-death signal (SIGKILL): if the lab
// process dies abruptly, children that kept their credentials die with it.
// Programs that change user (FRR drops to "frr") lose that protection, which
// is why the lab also keeps a reaper (package runs).
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// ErrNotRunning is returned when signalling a process that has exited.
var ErrNotRunning = errors.New("process is not running")

// Spec says what to run.
type Spec struct {
	// Name labels the process in errors and logs, e.g. "speaker-node1".
	Name string
	// NS is the network namespace to run in (netns.Root for the lab's own).
	NS netns.NS
	// Path is the program; Args its arguments (without argv[0]).
	Path string
	Args []string
	// Env is added to the lab process's environment.
	Env []string
	// Dir is the working directory ("" for the lab's own).
	Dir string
	// LogPath receives standard output and error (appended). Required.
	LogPath string
}

// Process is a started child process. Its methods are safe for concurrent use.
type Process struct {
	spec Spec
	pid  int

	done    chan struct{}
	mu      sync.Mutex
	waitErr error
	state   *os.ProcessState
	signal  func(os.Signal) error
}

// Start starts the process described by spec and a goroutine that reaps it
// when it exits (see [Process.Done]).
func Start(spec Spec) (*Process, error) {
	if spec.LogPath == "" {
		return nil, fmt.Errorf("start %s: no log path", spec.Name)
	}
	logf, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	defer logf.Close() // the child holds its own copy
	fmt.Fprintf(logf, "--- %s start: %s %s\n", time.Now().Format(time.RFC3339Nano), spec.Path, strings.Join(spec.Args, " "))

	cmd := spec.NS.Command(context.Background(), spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Path, err)
	}
	p := &Process{spec: spec, pid: cmd.Process.Pid, done: make(chan struct{}), signal: cmd.Process.Signal}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr, p.state = err, cmd.ProcessState
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Name returns the spec's name.
func (p *Process) Name() string { return p.spec.Name }

// Pid returns the process id.
func (p *Process) Pid() int { return p.pid }

// Spec returns what the process was started with.
func (p *Process) Spec() Spec { return p.spec }

// LogPath returns the file receiving the process's output.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitError returns the error from waiting on the process (nil for exit
// status 0) once it has exited, and nil before.
func (p *Process) ExitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Signal sends sig to the process. It returns ErrNotRunning after exit. The
// process is a child not yet reaped until Done closes, so its pid cannot
// have been recycled.
func (p *Process) Signal(sig os.Signal) error {
	if p.Exited() {
		return fmt.Errorf("signal %s: %w", p.spec.Name, ErrNotRunning)
	}
	if err := p.signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("signal %s: %w", p.spec.Name, ErrNotRunning)
		}
		return fmt.Errorf("signal %s: %w", p.spec.Name, err)
	}
	return nil
}

// Wait waits until the process exits or ctx ends.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for %s (pid %d) to exit: %w", p.spec.Name, p.pid, ctx.Err())
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill(ctx context.Context) error {
	if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	return p.Wait(ctx)
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then kills
// it. It returns nil once the process is gone, however it went.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if p.Wait(waitCtx) == nil {
		return nil
	}
	return p.Kill(ctx)
}

// String describes the process for logs and reports.
func (p *Process) String() string {
	return fmt.Sprintf("%s (pid %d in %s, log %s)", p.spec.Name, p.pid, p.spec.NS, p.spec.LogPath)
}

// Usage is a process's resource use, read from /proc.
type Usage struct {
	RSSBytes     uint64        // resident set size
	PeakRSSBytes uint64        // the largest resident set size so far (VmHWM)
	CPU          time.Duration // user + system time so far
}

// Usage reads the process's current memory and CPU use.
func (p *Process) Usage() (Usage, error) {
	if p.Exited() {
		return Usage{}, fmt.Errorf("usage of %s: %w", p.spec.Name, ErrNotRunning)
	}
	u, err := ReadUsage(p.pid)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %s: %w", p.spec.Name, err)
	}
	return u, nil
}

// Tail returns the last n lines of a log file, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
}
