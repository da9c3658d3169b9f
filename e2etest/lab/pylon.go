package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// ErrNoPylonBinaries is returned when bin/controller or bin/speaker is
// missing (run `make build`).
var ErrNoPylonBinaries = errors.New("pylon binaries not built (run make build)")

// Ports Pylon's components listen on inside their namespaces (each
// namespace has its own ports, so labs never clash).
const (
	ControllerMetricsPort = 7472
	ControllerHealthPort  = 7474
	SpeakerMetricsPort    = 7473
	MemberlistPort        = 7946
)

// stopGrace bounds a SIGTERM stop before SIGKILL (graceful L2 handoff
// needs up to ~2 s).
const stopGrace = 10 * time.Second

// PylonOptions selects what StartPylon starts.
type PylonOptions struct {
	// NoController skips the controller.
	NoController bool
	// Nodes run a speaker (default: every node).
	Nodes []string
	// ControllerArgs and SpeakerArgs are appended to the default flags.
	ControllerArgs, SpeakerArgs []string
}

// ControllerPath and SpeakerPath are the binaries the lab runs.
func (l *Lab) ControllerPath() string { return filepath.Join(l.opts.PylonBinDir, "controller") }

// SpeakerPath is the speaker binary.
func (l *Lab) SpeakerPath() string { return filepath.Join(l.opts.PylonBinDir, "speaker") }

// MissingPylon lists the Pylon binaries that do not exist yet.
func (l *Lab) MissingPylon() []string {
	var out []string
	for _, p := range []string{l.ControllerPath(), l.SpeakerPath()} {
		if _, err := os.Stat(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// StartPylon starts the controller (in ctl) and a speaker in each node.
// It returns an error wrapping ErrNoPylonBinaries, and starts nothing, when
// a binary it needs is missing. It does not wait for them to be ready:
// suites wait for the conditions they test.
func (l *Lab) StartPylon(ctx context.Context, opts PylonOptions) error {
	if missing := l.MissingPylon(); len(missing) > 0 {
		return fmt.Errorf("%w: %v", ErrNoPylonBinaries, missing)
	}
	if !opts.NoController {
		if _, err := l.StartController(ctx, opts.ControllerArgs...); err != nil {
			return err
		}
	}
	nodes := opts.Nodes
	if nodes == nil {
		nodes = l.NodeNames()
	}
	for _, n := range nodes {
		if _, err := l.StartSpeaker(ctx, n, opts.SpeakerArgs...); err != nil {
			return err
		}
	}
	return nil
}

// StartController starts bin/controller in the ctl namespace with the
// controller's ServiceAccount kubeconfig; extra flags are appended.
func (l *Lab) StartController(ctx context.Context, extra ...string) (*proc.Process, error) {
	if l.Server == nil {
		return nil, errors.New("start controller: lab has no control plane")
	}
	args := append([]string{
		"--kubeconfig", l.ControllerKubeconfig,
		"--namespace", PylonNamespace,
		"--metrics-bind-address", fmt.Sprintf(":%d", ControllerMetricsPort),
		"--metrics-secure=false", // the lab reads metrics inside its namespaces; the cluster tests HTTPS
		"--health-probe-bind-address", fmt.Sprintf(":%d", ControllerHealthPort),
	}, append(pprofArgs(), extra...)...)
	return l.startProc(proc.Spec{Name: "controller", NS: l.Topo.MustHost("ctl").NS, Path: l.ControllerPath(),
		Args: args, LogPath: l.path("controller.log")}, stopGrace)
}

// StartSpeaker starts bin/speaker inside node's namespace with the
// speakers' ServiceAccount kubeconfig; extra flags are appended.
func (l *Lab) StartSpeaker(ctx context.Context, node string, extra ...string) (*proc.Process, error) {
	if l.Server == nil {
		return nil, errors.New("start speaker: lab has no control plane")
	}
	n := l.Node(node)
	args := append([]string{
		"--kubeconfig", l.SpeakerKubeconfig,
		"--namespace", PylonNamespace,
		"--node-name", n.Name,
		"--memberlist-bind-addr", n.IPv4().String(),
		"--memberlist-port", fmt.Sprint(MemberlistPort),
		"--memberlist-key-file", l.MemberlistKeyFile,
		"--metrics-bind-address", fmt.Sprintf(":%d", SpeakerMetricsPort),
		"--metrics-secure=false", // the lab reads metrics inside its namespaces; the cluster tests HTTPS
	}, slices.Concat(pprofArgs(), l.opts.SpeakerArgs, extra)...)
	return l.startProc(proc.Spec{Name: "speaker-" + node, NS: n.NS, Path: l.SpeakerPath(),
		Args: args, LogPath: l.path("speaker-" + node + ".log")}, stopGrace)
}

// PprofEnv names the environment variable that, when set, makes the lab
// serve Go profiles: Pylon's processes on 127.0.0.1:PprofPort inside their
// namespaces, kube-apiserver on its /debug/pprof.
const PprofEnv = "PYLON_LAB_PPROF"

// PprofPort is where Pylon's processes serve /debug/pprof when PprofEnv is
// set.
const PprofPort = 6060

func pprofArgs() []string {
	if os.Getenv(PprofEnv) == "" {
		return nil
	}
	return []string{"--pprof-bind-address", fmt.Sprintf("127.0.0.1:%d", PprofPort)}
}

// Controller returns the controller process, or nil.
func (l *Lab) Controller() *proc.Process { return l.Process("controller") }

// Speaker returns node's speaker process, or nil.
func (l *Lab) Speaker(node string) *proc.Process { return l.Process("speaker-" + node) }

// StopSpeaker stops node's speaker gracefully (SIGTERM, then SIGKILL after
// grace) and waits for it to exit.
func (l *Lab) StopSpeaker(ctx context.Context, node string, grace time.Duration) error {
	p := l.Speaker(node)
	if p == nil {
		return fmt.Errorf("stop speaker of %s: none started", node)
	}
	l.expectExit(p)
	return p.Stop(ctx, grace)
}

// KillSpeaker kills node's speaker (SIGKILL: a crash) and waits for it to exit.
func (l *Lab) KillSpeaker(ctx context.Context, node string) error {
	p := l.Speaker(node)
	if p == nil {
		return fmt.Errorf("kill speaker of %s: none started", node)
	}
	l.expectExit(p)
	return p.Kill(ctx)
}

// SignalSpeaker sends sig to node's speaker without waiting (CheckPylon
// then no longer reports its exit).
func (l *Lab) SignalSpeaker(node string, sig syscall.Signal) error {
	p := l.Speaker(node)
	if p == nil {
		return fmt.Errorf("signal speaker of %s: none started", node)
	}
	l.expectExit(p)
	return p.Signal(sig)
}

// expectExit records that p is being stopped on purpose.
func (l *Lab) expectExit(p *proc.Process) {
	l.mu.Lock()
	l.deliberate[p] = true
	l.mu.Unlock()
}

// CheckPylon returns an error naming every Pylon process (controller,
// speakers) that has exited without being stopped through the lab, with
// the end of its log: call it while waiting for a condition, to fail fast
// instead of timing out.
func (l *Lab) CheckPylon() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for name, p := range l.procs {
		pylon := name == "controller" || strings.HasPrefix(name, "speaker-")
		if pylon && p.Exited() && !l.deliberate[p] {
			errs = append(errs, fmt.Errorf("%s exited (%v); %s", name, p.ExitError(), proc.Tail(p.LogPath(), 15)))
		}
	}
	return errors.Join(errs...)
}
