package routers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// BIRDPath and BIRDCPath are BIRD 2's daemon and client (Debian's bird2).
const (
	BIRDPath  = "/usr/sbin/bird"
	BIRDCPath = "/usr/sbin/birdc"
)

// BIRDOptions says where to run a BIRD instance and how to configure it.
type BIRDOptions struct {
	Name string
	NS   netns.NS
	// Dir receives bird.conf, the control socket, the pid file and the log.
	Dir    string
	Config BGPConfig
	// Raw, when set, replaces the rendered configuration.
	Raw string
}

// BIRD is a running BIRD 2 instance.
type BIRD struct {
	opts BIRDOptions
	proc *proc.Process
}

var _ Router = (*BIRD)(nil)

// StartBIRD writes bird.conf, starts BIRD in the foreground as a child
// process, and waits until its control socket exists.
func StartBIRD(ctx context.Context, opts BIRDOptions) (*BIRD, error) {
	b := &BIRD{opts: opts}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bird %s: %w", opts.Name, err)
	}
	if err := b.writeConfig(opts.Config, opts.Raw); err != nil {
		return nil, err
	}
	// BIRD opens its control socket before reading its configuration:
	// check the configuration first, for a clear error.
	if out, err := exec.CommandContext(ctx, BIRDPath, "-p", "-c", b.path("bird.conf")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bird %s: configuration rejected: %w: %s", opts.Name, err, out)
	}
	p, err := proc.Start(proc.Spec{Name: opts.Name + "-bird", NS: opts.NS, Path: BIRDPath,
		Args:    []string{"-f", "-c", b.path("bird.conf"), "-s", b.path("bird.ctl"), "-P", b.path("bird.pid")},
		LogPath: b.path("bird.log")})
	if err != nil {
		return nil, err
	}
	b.proc = p
	if err := b.waitUp(ctx); err != nil {
		return nil, errors.Join(err, b.Stop(context.WithoutCancel(ctx)))
	}
	return b, nil
}

// waitUp waits until birdc gets an answer, or BIRD exits.
func (b *BIRD) waitUp(ctx context.Context) error {
	return waitAnswer(ctx, b.proc, b.path("bird.ctl"), func(ctx context.Context) (bool, error) {
		_, err := b.Birdc(ctx, "show", "status")
		return err == nil, err
	})
}

func (b *BIRD) path(name string) string { return filepath.Join(b.opts.Dir, name) }

func (b *BIRD) writeConfig(c BGPConfig, raw string) error {
	if raw == "" {
		raw = BIRDConfig(c)
	}
	if err := os.WriteFile(b.path("bird.conf"), []byte(raw), 0o644); err != nil {
		return fmt.Errorf("bird %s: %w", b.opts.Name, err)
	}
	return nil
}

// Name returns the instance's name.
func (b *BIRD) Name() string { return b.opts.Name }

// Process returns the BIRD daemon.
func (b *BIRD) Process() *proc.Process { return b.proc }

// Birdc runs one birdc command (e.g. "show route all") and returns its output.
func (b *BIRD) Birdc(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"-s", b.path("bird.ctl")}, args...)
	out, err := exec.CommandContext(ctx, BIRDCPath, full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("birdc %s on %s: %w: %s", strings.Join(args, " "), b.opts.Name, err, out)
	}
	return out, nil
}

// Reconfigure rewrites bird.conf and asks BIRD to load it.
func (b *BIRD) Reconfigure(ctx context.Context, c BGPConfig, raw string) error {
	if err := b.writeConfig(c, raw); err != nil {
		return err
	}
	out, err := b.Birdc(ctx, "configure")
	if err == nil && !strings.Contains(string(out), "Reconfigured") && !strings.Contains(string(out), "Reconfiguration in progress") {
		err = fmt.Errorf("birdc configure on %s: %s", b.opts.Name, out)
	}
	return err
}

// Sessions returns the state of every configured or dynamic BGP neighbour.
func (b *BIRD) Sessions(ctx context.Context) ([]Session, error) {
	out, err := b.Birdc(ctx, "show", "protocols", "all")
	if err != nil {
		return nil, err
	}
	return ParseBIRDProtocols(out)
}

// Routes returns every path of both tables, with attributes.
func (b *BIRD) Routes(ctx context.Context) ([]Route, error) {
	var all []Route
	for _, table := range []string{"master4", "master6"} {
		out, err := b.Birdc(ctx, "show", "route", "all", "table", table)
		if err != nil {
			return nil, err
		}
		rs, err := ParseBIRDRoutes(out)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	return all, nil
}

// Stop kills BIRD (it keeps no state worth a clean stop), removes its
// socket and pid file, and flushes the routes it put in the kernel.
func (b *BIRD) Stop(ctx context.Context) error {
	var errs []error
	if b.proc != nil {
		errs = append(errs, b.proc.Kill(ctx))
	}
	for _, name := range []string{"bird.ctl", "bird.pid"} {
		errs = append(errs, ignoreNotExist(os.Remove(b.path(name))))
	}
	if b.opts.NS.Exists() {
		for _, fam := range []string{"-4", "-6"} {
			if _, err := b.opts.NS.IP(ctx, fam, "route", "flush", "proto", "bird"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
