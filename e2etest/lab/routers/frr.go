package routers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// FRRDir holds FRR's daemons (Debian's frr package).
const FRRDir = "/usr/lib/frr"

// VtyshPath is FRR's shell.
const VtyshPath = "/usr/bin/vtysh"

// FRROptions says where to run an FRR instance and how to configure it.
type FRROptions struct {
	// Name labels the instance (e.g. "router"); it is FRR's hostname.
	Name string
	NS   netns.NS
	// Dir receives configs, pid files, sockets and logs; it is made and
	// handed to the "frr" user.
	Dir    string
	Config BGPConfig
	// RawBGPD, when set, replaces the rendered bgpd.conf.
	RawBGPD string
}

// FRR is a running FRR instance: zebra (routes into the namespace's kernel
// table), bgpd, and bfdd when the configuration uses BFD.
type FRR struct {
	opts  FRROptions
	procs []*proc.Process // start order
}

var _ Router = (*FRR)(nil)

// StartFRR writes the configuration and starts zebra, then bgpd (and
// bfdd), each in the foreground as a child process, and waits until bgpd's
// vty socket answers.
func StartFRR(ctx context.Context, opts FRROptions) (f *FRR, err error) {
	f = &FRR{opts: opts}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Stop(context.WithoutCancel(ctx)))
		}
	}()
	if err := f.writeFiles(); err != nil {
		return f, err
	}
	if err := f.startDaemon(ctx, "zebra", "zserv.api"); err != nil {
		return f, err
	}
	if opts.Config.UsesBFD() {
		if err := f.startDaemon(ctx, "bfdd", "bfdd.vty"); err != nil {
			return f, err
		}
	}
	if err := f.startDaemon(ctx, "bgpd", "bgpd.vty"); err != nil {
		return f, err
	}
	return f, nil
}

func (f *FRR) path(name string) string { return filepath.Join(f.opts.Dir, name) }

func (f *FRR) writeFiles() error {
	bgpd := f.opts.RawBGPD
	if bgpd == "" {
		bgpd = FRRBGPD(f.opts.Config)
	}
	files := map[string]string{
		"zebra.conf": FRRZebra(f.opts.Name),
		"bgpd.conf":  bgpd,
		"bfdd.conf":  FRRBFDD(f.opts.Config),
	}
	if err := os.MkdirAll(f.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("frr %s: %w", f.opts.Name, err)
	}
	for name, text := range files {
		if err := os.WriteFile(f.path(name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("frr %s: %w", f.opts.Name, err)
		}
	}
	return chownFRR(f.opts.Dir)
}

// chownFRR gives dir and its files to the frr user, which FRR's daemons
// become after start.
func chownFRR(dir string) error {
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("frr user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// startDaemon starts one daemon and waits for the socket that says it is up.
func (f *FRR) startDaemon(ctx context.Context, name, readySocket string) error {
	args := []string{
		"-f", f.path(name + ".conf"), "-i", f.path(name + ".pid"),
		"--vty_socket", f.opts.Dir, "-z", f.path("zserv.api"),
		"-P", "0", "-u", "frr", "-g", "frr", "--log", "file:" + f.path(name+".log"),
	}
	p, err := proc.Start(proc.Spec{Name: f.opts.Name + "-" + name, NS: f.opts.NS,
		Path: filepath.Join(FRRDir, name), Args: args, LogPath: f.path(name + ".out")})
	if err != nil {
		return err
	}
	f.procs = append(f.procs, p)
	return waitSocket(ctx, p, f.path(readySocket))
}

func waitSocket(ctx context.Context, p *proc.Process, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		select {
		case <-p.Done():
			b, _ := os.ReadFile(p.LogPath())
			return fmt.Errorf("%s exited before creating %s: %s", p.Name(), path, b)
		case <-ctx.Done():
			return fmt.Errorf("%s did not create %s: %w", p.Name(), path, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitAnswer waits until p has created its control socket at sock and
// answered returns true, or p exits (the error then carries p's log).
func waitAnswer(ctx context.Context, p *proc.Process, sock string, answered func(context.Context) (bool, error)) error {
	if err := waitSocket(ctx, p, sock); err != nil {
		return err
	}
	return wait.For(ctx, 15*time.Second, 5*time.Millisecond, func(ctx context.Context) (bool, error) {
		if p.Exited() {
			log, _ := os.ReadFile(p.LogPath())
			return false, fmt.Errorf("%s exited: %s", p.Name(), log)
		}
		return answered(ctx)
	})
}

// Name returns the instance's name.
func (f *FRR) Name() string { return f.opts.Name }

// Processes returns the running daemons.
func (f *FRR) Processes() []*proc.Process { return f.procs }

// Vtysh runs vtysh commands against this instance (e.g. "show bgp summary
// json", or "conf t", "router bgp 64500", ... to reconfigure it).
func (f *FRR) Vtysh(ctx context.Context, cmds ...string) ([]byte, error) {
	args := []string{"--vty_socket", f.opts.Dir}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.CommandContext(ctx, VtyshPath, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("vtysh %v on %s: %w: %s", cmds, f.opts.Name, err, out)
	}
	return out, nil
}

// Sessions returns the state of every BGP neighbour, dynamic ones included.
func (f *FRR) Sessions(ctx context.Context) ([]Session, error) {
	out, err := f.Vtysh(ctx, "show bgp neighbors json")
	if err != nil {
		return nil, err
	}
	return ParseFRRNeighbors(out)
}

// Routes returns every path of both unicast tables (without communities:
// see [FRR.RouteDetail]).
func (f *FRR) Routes(ctx context.Context) ([]Route, error) {
	var all []Route
	for _, fam := range []string{"ipv4", "ipv6"} {
		out, err := f.Vtysh(ctx, "show bgp "+fam+" unicast json")
		if err != nil {
			return nil, err
		}
		rs, err := ParseFRRTable(out)
		if err != nil {
			return nil, fmt.Errorf("frr %s %s table: %w", f.opts.Name, fam, err)
		}
		all = append(all, rs...)
	}
	return all, nil
}

// RouteDetail returns every path of one prefix with all attributes
// (communities, large communities, local preference).
func (f *FRR) RouteDetail(ctx context.Context, prefix string) ([]Route, error) {
	fam := "ipv4"
	if p, err := parsePrefix(prefix); err == nil && p.Addr().Is6() {
		fam = "ipv6"
	}
	out, err := f.Vtysh(ctx, "show bgp "+fam+" unicast "+prefix+" json")
	if err != nil {
		return nil, err
	}
	return ParseFRRPrefix(out)
}

// Stop kills the daemons (a clean FRR stop takes seconds), removes their
// pid files and sockets, and flushes the nexthop objects and BGP routes
// zebra left in the namespace's kernel.
func (f *FRR) Stop(ctx context.Context) error {
	var errs []error
	for i := len(f.procs) - 1; i >= 0; i-- {
		errs = append(errs, f.procs[i].Kill(ctx))
	}
	for _, pattern := range []string{"*.pid", "*.vty", "zserv.api"} {
		matches, _ := filepath.Glob(f.path(pattern))
		for _, m := range matches {
			errs = append(errs, ignoreNotExist(os.Remove(m)))
		}
	}
	errs = append(errs, flushZebra(ctx, f.opts.NS))
	return errors.Join(errs...)
}

func flushZebra(ctx context.Context, ns netns.NS) error {
	if !ns.Exists() {
		return nil
	}
	var errs []error
	// Deleting zebra's nexthop objects deletes the routes that use them; the
	// kernel refuses to flush such routes directly.
	for _, args := range [][]string{{"nexthop", "flush"}, {"-4", "route", "flush", "proto", "bgp"}, {"-6", "route", "flush", "proto", "bgp"}} {
		if _, err := ns.IP(ctx, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// BFDPeer is the state of one BFD session as FRR's bfdd sees it.
type BFDPeer struct {
	Peer   netip.Addr
	Status string // "up", "down", "init", "adminDown"
}

// BFDPeers returns bfdd's sessions (empty when BFD is not in use).
func (f *FRR) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	out, err := f.Vtysh(ctx, "show bfd peers json")
	if err != nil {
		return nil, err
	}
	return ParseFRRBFDPeers(out)
}
