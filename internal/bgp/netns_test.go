package bgp

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The wire tests run gobgp in this test process, so the process itself must
// live in a network namespace of its own: TestMain re-executes the test
// binary as a child in a fresh, anonymous network namespace (CLONE_NEWNET;
// it disappears with the child). Every socket gobgp opens is then inside it,
// whatever thread opens it. Routers run in named namespaces joined to the
// child's namespace by veth pairs created from inside the child.

const childEnv = "PYLON_BGP_NETNS_CHILD"

// inLab is true in the re-executed child, where wire tests may run.
var inLab bool

func TestMain(m *testing.M) {
	if os.Getenv(rssChildEnv) != "" {
		os.Exit(rssChild())
	}
	if os.Getenv(childEnv) == "1" {
		if err := setupChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bgp netns lab:", err)
			os.Exit(2)
		}
		inLab = true
		os.Exit(m.Run())
	}
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	os.Exit(reexec())
}

func reexec() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bgp netns lab:", err)
		return 2
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "bgp netns lab:", err)
		return 2
	}
	return 0
}

// setupChild prepares the child's own namespace: loopback up, no IPv6 DAD.
func setupChild() error {
	for _, kv := range [][2]string{
		{"net/ipv6/conf/all/accept_dad", "0"}, {"net/ipv6/conf/default/accept_dad", "0"},
		{"net/ipv6/conf/all/accept_ra", "0"}, {"net/ipv6/conf/default/accept_ra", "0"},
	} {
		if err := os.WriteFile("/proc/sys/"+kv[0], []byte(kv[1]), 0o644); err != nil {
			return err
		}
	}
	_, err := run("ip", "link", "set", "lo", "up")
	return err
}

// needLab skips (or, with CI=true, fails) tests that need the namespaces.
func needLab(t testing.TB) {
	t.Helper()
	if inLab {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("wire test needs root to create network namespaces (CI=true)")
	}
	t.Skip("!!! SKIPPED: wire test needs root to create network namespaces !!!")
}

func run(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var linkSeq atomic.Int32

// link is a veth pair between this process's namespace (Local, named Dev)
// and a router namespace NS (where it is eth0).
type link struct {
	NS      string
	Dev     string
	Local4  netip.Addr
	Remote4 netip.Addr
	Local6  netip.Addr
	Remote6 netip.Addr
	// Switch, if set, is a namespace with a bridge between us ("s0") and
	// the router ("s1"), so our link can be cut while the router keeps
	// its carrier.
	Switch string
}

// newLink creates a router namespace joined to ours by a veth pair with
// 10.77.N.0/24 and fd00:77:N::/64 (N unique in this process). Cleanup kills
// whatever runs in the namespace and deletes it.
func newLink(t testing.TB) *link { return makeLink(t, false) }

// newSwitchedLink is newLink with a bridge in between (see link.Switch).
func newSwitchedLink(t testing.TB) *link { return makeLink(t, true) }

func makeLink(t testing.TB, switched bool) *link {
	t.Helper()
	needLab(t)
	n := linkSeq.Add(1)
	l := &link{
		NS:      fmt.Sprintf("pyb%d-%d", os.Getpid(), n),
		Dev:     fmt.Sprintf("vr%d", n),
		Local4:  netip.MustParseAddr(fmt.Sprintf("10.77.%d.1", n)),
		Remote4: netip.MustParseAddr(fmt.Sprintf("10.77.%d.2", n)),
		Local6:  netip.MustParseAddr(fmt.Sprintf("fd00:77:%d::1", n)),
		Remote6: netip.MustParseAddr(fmt.Sprintf("fd00:77:%d::2", n)),
	}
	mustRun(t, "ip", "netns", "add", l.NS)
	t.Cleanup(func() { l.destroy(t) })
	for _, s := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.forwarding=1", "net.ipv4.ip_forward=1"} {
		mustRun(t, "ip", "netns", "exec", l.NS, "sysctl", "-qw", s)
	}
	if switched {
		l.Switch = l.NS + "-sw"
		mustRun(t, "ip", "netns", "add", l.Switch)
		sw := func(args ...string) { mustRun(t, "ip", append([]string{"-n", l.Switch}, args...)...) }
		for _, f := range []string{"iptables", "ip6tables", "arptables"} {
			_, _ = run("ip", "netns", "exec", l.Switch, "sysctl", "-qw", "net.bridge.bridge-nf-call-"+f+"=0")
		}
		sw("link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
		mustRun(t, "ip", "link", "add", l.Dev, "type", "veth", "peer", "name", "s0", "netns", l.Switch)
		mustRun(t, "ip", "-n", l.NS, "link", "add", "eth0", "type", "veth", "peer", "name", "s1", "netns", l.Switch)
		for _, dev := range []string{"s0", "s1"} {
			sw("link", "set", dev, "master", "br0")
			sw("link", "set", dev, "up")
		}
		sw("link", "set", "br0", "up")
	} else {
		mustRun(t, "ip", "link", "add", l.Dev, "type", "veth", "peer", "name", "eth0", "netns", l.NS)
	}
	mustRun(t, "ip", "addr", "add", l.Local4.String()+"/24", "dev", l.Dev)
	mustRun(t, "ip", "addr", "add", l.Local6.String()+"/64", "dev", l.Dev)
	mustRun(t, "ip", "link", "set", l.Dev, "up")
	mustRun(t, "ip", "-n", l.NS, "addr", "add", l.Remote4.String()+"/24", "dev", "eth0")
	mustRun(t, "ip", "-n", l.NS, "addr", "add", l.Remote6.String()+"/64", "dev", "eth0")
	mustRun(t, "ip", "-n", l.NS, "link", "set", "eth0", "up")
	mustRun(t, "ip", "-n", l.NS, "link", "set", "lo", "up")
	return l
}

func (l *link) destroy(t testing.TB) {
	if pids, err := run("ip", "netns", "pids", l.NS); err == nil {
		for _, f := range strings.Fields(pids) {
			_, _ = run("kill", "-9", f)
		}
	}
	// Killed processes leave the namespace asynchronously.
	for i := 0; i < 50; i++ {
		if out, _ := run("ip", "netns", "pids", l.NS); strings.TrimSpace(out) == "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = run("ip", "link", "del", l.Dev)
	for _, ns := range []string{l.NS, l.Switch} {
		if ns == "" {
			continue
		}
		if _, err := run("ip", "netns", "del", ns); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
}

// cut cuts (up=false) or restores our side of a switched link: the switch
// port facing us goes down, so our interface loses its carrier while the
// router's keeps it, as when a node's cable is pulled behind a switch.
func (l *link) cut(t testing.TB, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	mustRun(t, "ip", "-n", l.Switch, "link", "set", "s0", state)
}

// routes returns the router namespace's kernel routes for family "-4"/"-6".
func (l *link) routes(t testing.TB, family string) string {
	t.Helper()
	return mustRun(t, "ip", family, "-n", l.NS, "route", "show")
}
