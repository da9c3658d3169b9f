// Package lab brings up Pylon's one-machine lab: a Linux bridge joining N
// node namespaces, a client, a router (with a host behind it) and a control
// namespace running a real etcd and kube-apiserver, plus the stand-ins a
// cluster without kubelets needs (Node objects, a per-node HTTP server
// answering with the node's name, service IPs placed on the nodes' lo).
// Pylon's controller and speakers run in it as processes, authenticated
// with ServiceAccount tokens and bound by Pylon's RBAC.
//
// [Up] builds a lab and [Lab.Close] removes everything it made, in reverse
// order. Every run has a unique id (package runs): its namespaces, root-link
// interface and directory are named from it, so labs run side by side, and
// a dead run's leftovers are reaped by [Reap]. Suites use package labtest,
// which ties a lab to a test's lifetime.
//
// The building blocks live in sub-packages: netns, topo, kube, routers,
// probe, proc, runs, nodehttp, wait.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/runs"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// PylonNamespace is where Pylon's components and configuration live.
const PylonNamespace = "pylon-system"

// Options configures a lab. The zero value gives a 3-node lab.
type Options struct {
	// Nodes is the number of node namespaces (default 3).
	Nodes int
	// SpeakerArgs are appended to the flags of every speaker the lab
	// starts (before those of the call).
	SpeakerArgs []string
	// Router2 adds a second router behind the first, for multi-hop BGP.
	Router2 bool
	// Unnumbered adds a link-local-only point-to-point link from each node
	// (topo.NodeP2PIface) to the router, for unnumbered BGP sessions.
	Unnumbered bool
	// Segment2 moves the last node onto a second LAN segment with its own
	// client (topo.Spec.Segment2).
	Segment2 bool
	// Topology is a containerlab topology file (e2etest/topologies) the lab
	// realises; it sets Nodes and Router2, and the lab refuses a file that
	// describes a network it does not make.
	Topology string
	// NetworkOnly skips the control plane (etcd, kube-apiserver, Node
	// objects, credentials): for network-level tests.
	NetworkOnly bool
	// Cluster prepares the lab for real kubelets (package cluster): no
	// stand-ins (no Node objects, no per-node HTTP servers), no manifests
	// and no component credentials, and an API server set up as a
	// cluster's (Node authorizer, NodeRestriction, webhooks reached at
	// their Services' endpoints).
	Cluster bool
	// APIServerUsers are further token identities of the API server.
	APIServerUsers []kube.User
	// BaseDir holds run directories (default: e2etest/.runs in the
	// repository, else $TMPDIR/pylon-lab). It must be traversable by the
	// "frr" user.
	BaseDir string
	// StateDir holds run lock files (default runs.DefaultStateDir). Labs on
	// one machine must share it, or each other's runs look like orphans.
	StateDir string
	// KubeBinDir holds etcd and kube-apiserver (default prereq.KubeBinDir()).
	KubeBinDir string
	// PylonBinDir holds controller and speaker (default prereq.PylonBinDir()).
	PylonBinDir string
	// ManifestDirs are applied in order at start, when they exist (default:
	// config/crd/bases then config/rbac in the repository).
	ManifestDirs []string
	// HelperPath is the binary re-executed as each node's HTTP server
	// (default: this process's executable; it must call nodehttp.MaybeRun).
	HelperPath string
	// APIServerArgs are extra kube-apiserver flags.
	APIServerArgs []string
	// KeepDir keeps the run directory on Close (logs for a failed test).
	KeepDir bool
	// Logger receives progress (default: discarded).
	Logger *slog.Logger
}

// Timings records how long bringing the lab up took.
type Timings struct {
	Network      time.Duration // namespaces, bridge, links, addresses
	ControlPlane time.Duration // etcd + kube-apiserver until /readyz
	Total        time.Duration // all of Up
}

// Lab is a running lab. Its methods are safe for concurrent use.
type Lab struct {
	ID   runs.ID
	Dir  string
	Topo *topo.Topology
	// Server and Admin are nil with Options.NetworkOnly.
	Server *kube.Server
	Admin  *kube.Client
	// Kubeconfigs: the admin's (reachable from the root namespace), and the
	// controller's and speakers' (ServiceAccount tokens, reachable on the LAN).
	AdminKubeconfig, ControllerKubeconfig, SpeakerKubeconfig string
	// MemberlistKeyFile holds the speakers' gossip encryption key.
	MemberlistKeyFile string
	Timings           Timings

	opts Options
	log  *slog.Logger
	run  *runs.Run

	mu    sync.Mutex
	procs map[string]*proc.Process // by name: http-node1, controller, speaker-node1
	// deliberate marks processes stopped on purpose (not failures).
	deliberate map[*proc.Process]bool
	undo       []undoStep
	closed     bool
}

type undoStep struct {
	what string
	fn   func(context.Context) error
}

// Up builds a lab. On failure it removes what it made.
func Up(ctx context.Context, opts Options) (l *Lab, err error) {
	t0 := time.Now()
	opts = withDefaults(opts)
	l = &Lab{opts: opts, log: opts.Logger, procs: map[string]*proc.Process{}, deliberate: map[*proc.Process]bool{}}
	if l.run, err = runs.Acquire(opts.StateDir, func(id runs.ID) string { return filepath.Join(opts.BaseDir, id.String()) }); err != nil {
		return nil, err
	}
	l.ID, l.Dir = l.run.ID, l.run.Dir
	l.addUndo("release run lock", func(context.Context) error { return l.run.Release() })
	defer func() {
		if err != nil {
			l.opts.KeepDir = true // keep the logs that explain the failure
			err = errors.Join(fmt.Errorf("lab %s up: %w", l.ID, err), l.Close(context.WithoutCancel(ctx)))
		}
	}()
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return l, err
	}
	l.addUndo("remove run directory", l.removeDir)
	l.log.Info("lab starting", "id", l.ID, "dir", l.Dir)
	if err := l.upNetwork(ctx); err != nil {
		return l, err
	}
	if !opts.NetworkOnly {
		if err := l.upControlPlane(ctx); err != nil {
			return l, err
		}
	}
	l.Timings.Total = time.Since(t0)
	l.log.Info("lab up", "id", l.ID, "network", l.Timings.Network, "controlPlane", l.Timings.ControlPlane, "total", l.Timings.Total)
	return l, nil
}

func withDefaults(o Options) Options {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	root := prereq.RepoRoot()
	if o.BaseDir == "" {
		o.BaseDir = filepath.Join(os.TempDir(), "pylon-lab")
		if root != "" {
			o.BaseDir = filepath.Join(root, "e2etest", ".runs")
		}
	}
	if o.StateDir == "" {
		o.StateDir = runs.DefaultStateDir
	}
	if o.KubeBinDir == "" {
		o.KubeBinDir = prereq.KubeBinDir()
	}
	if o.PylonBinDir == "" {
		o.PylonBinDir = prereq.PylonBinDir()
	}
	if o.ManifestDirs == nil && root != "" {
		o.ManifestDirs = []string{filepath.Join(root, "config", "crd", "bases"), filepath.Join(root, "config", "rbac")}
	}
	if o.HelperPath == "" {
		o.HelperPath, _ = os.Executable()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

func (l *Lab) addUndo(what string, fn func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.undo = append(l.undo, undoStep{what: what, fn: fn})
}

func (l *Lab) removeDir(context.Context) error {
	if l.opts.KeepDir {
		l.log.Info("keeping run directory", "dir", l.Dir)
		return nil
	}
	return os.RemoveAll(l.Dir)
}

// KeepDir makes Close keep the run directory (e.g. when a test failed).
func (l *Lab) KeepDir() {
	l.mu.Lock()
	l.opts.KeepDir = true
	l.mu.Unlock()
}

// Close stops every process and removes every namespace, interface and
// file the lab made, in reverse order of creation; every step runs even if
// an earlier one failed. Calling it again does nothing.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	steps := slices.Clone(l.undo)
	l.mu.Unlock()
	t0 := time.Now()
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", steps[i].what, err))
		}
	}
	l.log.Info("lab down", "id", l.ID, "took", time.Since(t0), "errors", len(errs))
	if len(errs) > 0 {
		return fmt.Errorf("lab %s close: %w", l.ID, errors.Join(errs...))
	}
	return nil
}

// path returns a path inside the run directory.
func (l *Lab) path(parts ...string) string {
	return filepath.Join(append([]string{l.Dir}, parts...)...)
}

// Process returns a process the lab started, by name ("http-node1",
// "controller", "speaker-node2"), or nil.
func (l *Lab) Process(name string) *proc.Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.procs[name]
}

// Processes returns every process the lab started and still tracks, by
// name, then the control plane's.
func (l *Lab) Processes() []*proc.Process {
	l.mu.Lock()
	var out []*proc.Process
	for _, p := range l.procs {
		out = append(out, p)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	if l.Server != nil {
		out = append(out, l.Server.Processes()...)
	}
	return out
}

// track lists a process started elsewhere (routers) among the lab's.
func (l *Lab) track(p *proc.Process) {
	l.mu.Lock()
	l.procs[p.Name()] = p
	l.mu.Unlock()
}

// startProc starts a process, tracks it by name and registers its stop.
func (l *Lab) startProc(spec proc.Spec, grace time.Duration) (*proc.Process, error) {
	l.mu.Lock()
	if old := l.procs[spec.Name]; old != nil && !old.Exited() {
		l.mu.Unlock()
		return nil, fmt.Errorf("start %s: already running (pid %d)", spec.Name, old.Pid())
	}
	l.mu.Unlock()
	p, err := proc.Start(spec)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.procs[spec.Name] = p
	l.mu.Unlock()
	l.addUndo("stop "+spec.Name, func(ctx context.Context) error {
		l.expectExit(p)
		return p.Stop(ctx, grace)
	})
	return p, nil
}
