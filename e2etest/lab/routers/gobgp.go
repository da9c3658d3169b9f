package routers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// GoBGPDPath and GoBGPPath are GoBGP's daemon and client (Debian's gobgpd).
const (
	GoBGPDPath = "/usr/bin/gobgpd"
	GoBGPPath  = "/usr/bin/gobgp"
)

// GoBGPOptions says where to run a gobgpd instance and how to configure it.
type GoBGPOptions struct {
	Name string
	NS   netns.NS
	// Dir receives gobgpd.toml, the API socket and the log.
	Dir    string
	Config BGPConfig
	// Raw, when set, replaces the rendered configuration.
	Raw string
}

// GoBGP is a running gobgpd. Its gRPC API listens on a Unix socket in Dir
// (not the default TCP port 50051), so instances of parallel labs never
// meet, nor a system gobgpd (Debian's systemd unit, in the root namespace),
// and the gobgp client runs outside the namespace.
type GoBGP struct {
	opts GoBGPOptions
	proc *proc.Process
}

var _ Router = (*GoBGP)(nil)

// StartGoBGP writes gobgpd.toml, checks it (gobgpd -d), starts gobgpd as a
// child process, and waits until its API answers.
func StartGoBGP(ctx context.Context, opts GoBGPOptions) (*GoBGP, error) {
	g := &GoBGP{opts: opts}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("gobgpd %s: %w", opts.Name, err)
	}
	conf := opts.Raw
	if conf == "" {
		var err error
		if conf, err = GoBGPConfig(opts.Config); err != nil {
			return nil, fmt.Errorf("gobgpd %s: %w", opts.Name, err)
		}
	}
	if err := os.WriteFile(g.path("gobgpd.toml"), []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("gobgpd %s: %w", opts.Name, err)
	}
	if out, err := exec.CommandContext(ctx, GoBGPDPath, "-d", "-f", g.path("gobgpd.toml")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gobgpd %s: configuration rejected: %w: %s", opts.Name, err, out)
	}
	// A socket left by a killed instance would make the listen fail.
	if err := ignoreNotExist(os.Remove(g.path("api.sock"))); err != nil {
		return nil, fmt.Errorf("gobgpd %s: %w", opts.Name, err)
	}
	p, err := proc.Start(proc.Spec{Name: opts.Name + "-gobgpd", NS: opts.NS, Path: GoBGPDPath,
		Args: []string{"-f", g.path("gobgpd.toml"), "-p", "--pprof-disable",
			"--api-hosts", "unix://" + g.path("api.sock")},
		LogPath: g.path("gobgpd.log")})
	if err != nil {
		return nil, err
	}
	g.proc = p
	if err := g.waitUp(ctx); err != nil {
		return nil, errors.Join(err, g.Stop(context.WithoutCancel(ctx)))
	}
	return g, nil
}

// waitUp waits until the API answers with the configured AS, which gobgpd
// sets from its file after opening the socket, or gobgpd exits.
func (g *GoBGP) waitUp(ctx context.Context) error {
	return waitAnswer(ctx, g.proc, g.path("api.sock"), func(ctx context.Context) (bool, error) {
		out, err := g.Gobgp(ctx, "global")
		return err == nil && strings.Contains(string(out), `"asn":`), err
	})
}

func (g *GoBGP) path(name string) string { return filepath.Join(g.opts.Dir, name) }

// Name returns the instance's name.
func (g *GoBGP) Name() string { return g.opts.Name }

// Process returns the gobgpd daemon.
func (g *GoBGP) Process() *proc.Process { return g.proc }

// Gobgp runs one gobgp client command with JSON output (e.g. "neighbor",
// or "global", "rib", "-a", "ipv6") and returns its output.
func (g *GoBGP) Gobgp(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"--target", "unix://" + g.path("api.sock"), "-j"}, args...)
	out, err := exec.CommandContext(ctx, GoBGPPath, full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("gobgp %s on %s: %w: %s", strings.Join(args, " "), g.opts.Name, err, out)
	}
	return out, nil
}

// Sessions returns the state of every neighbour; a dynamic neighbour
// appears once it has connected.
func (g *GoBGP) Sessions(ctx context.Context) ([]Session, error) {
	out, err := g.Gobgp(ctx, "neighbor")
	if err != nil {
		return nil, err
	}
	return ParseGoBGPNeighbors(out)
}

// Routes returns every path of both unicast tables of the global RIB, with
// attributes (communities included).
func (g *GoBGP) Routes(ctx context.Context) ([]Route, error) {
	var all []Route
	for _, fam := range []string{"ipv4", "ipv6"} {
		out, err := g.Gobgp(ctx, "global", "rib", "-a", fam)
		if err != nil {
			return nil, err
		}
		rs, err := ParseGoBGPRib(out)
		if err != nil {
			return nil, fmt.Errorf("gobgpd %s %s RIB: %w", g.opts.Name, fam, err)
		}
		all = append(all, rs...)
	}
	return all, nil
}

// Stop asks gobgpd to stop (SIGTERM: it closes its sessions with a
// NOTIFICATION), kills it after 5 s, and removes its socket. gobgpd runs
// without zebra, so it leaves nothing in the kernel.
func (g *GoBGP) Stop(ctx context.Context) error {
	var errs []error
	if g.proc != nil {
		errs = append(errs, g.proc.Stop(ctx, 5*time.Second))
	}
	errs = append(errs, ignoreNotExist(os.Remove(g.path("api.sock"))))
	return errors.Join(errs...)
}
