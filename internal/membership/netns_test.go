package membership

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The end-to-end test runs three members as separate processes (this test
// binary, re-executed), each in its own network namespace on a bridge, and
// fails one the ways a node fails: SIGKILL with the link up, or link down
// and SIGKILL. Root only.

var (
	netnsRuns  = flag.Int("membership.netns-runs", 5, "failures per scenario in TestNetnsFailover")
	netnsDebug = flag.Bool("membership.netns-debug", false, "members log at debug level in TestNetnsFailover")
)

// helperEnv makes the test binary run a member instead of the tests.
const helperEnv = "PYLON_MEMBERSHIP_NETNS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

// requireRoot skips (or fails, under CI=true) without root and iproute2.
func requireRoot(t *testing.T) {
	t.Helper()
	_, ipErr := exec.LookPath("ip")
	if os.Geteuid() == 0 && ipErr == nil {
		return
	}
	msg := "NETNS END-TO-END TEST NOT RUN: it needs root and iproute2 (`ip`)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, "!!! "+msg)
	t.Skip("!!! " + msg)
}

// lab is three namespaces on a bridge in a fourth.
type lab struct {
	t      *testing.T
	prefix string
	nodes  []labNode
}

type labNode struct {
	name string
	ns   string
	addr netip.AddrPort
	nl   *netlink.Handle // in ns, to cut eth0 without a fork and exec
	eth0 netlink.Link
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newLab builds the namespaces; cleanup removes them (after the helpers
// were killed: their cleanups run first).
func newLab(t *testing.T, n int) *lab {
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	l := &lab{t: t, prefix: "pmbr-" + hex.EncodeToString(suffix[:])}
	lan := l.prefix + "-lan"
	t.Cleanup(func() {
		for _, ns := range append([]string{lan}, l.namespaces()...) {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	ip(t, "netns", "add", lan)
	_ = exec.Command("ip", "netns", "exec", lan, "sysctl", "-qw",
		"net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-arptables=0").Run()
	ip(t, "-n", lan, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	ip(t, "-n", lan, "link", "set", "br0", "up")
	for i := range n {
		node := labNode{
			name: fmt.Sprintf("node%d", i),
			ns:   fmt.Sprintf("%s-n%d", l.prefix, i),
			addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 231, 0, byte(i + 1)}), DefaultPort),
		}
		l.nodes = append(l.nodes, node)
		ip(t, "netns", "add", node.ns)
		veth := fmt.Sprintf("v%d", i)
		ip(t, "link", "add", veth, "netns", lan, "type", "veth", "peer", "name", "eth0", "netns", node.ns)
		ip(t, "-n", lan, "link", "set", veth, "master", "br0", "up")
		ip(t, "-n", node.ns, "addr", "add", node.addr.Addr().String()+"/24", "dev", "eth0")
		ip(t, "-n", node.ns, "link", "set", "eth0", "up")
		ip(t, "-n", node.ns, "link", "set", "lo", "up")
		l.nodes[i].nl, l.nodes[i].eth0 = linkHandle(t, node.ns)
	}
	return l
}

// linkHandle returns a netlink handle in ns and its eth0.
func linkHandle(t *testing.T, ns string) (*netlink.Handle, netlink.Link) {
	t.Helper()
	nsh, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("open namespace %s: %v", ns, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", ns, err)
	}
	t.Cleanup(h.Close)
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in %s: %v", ns, err)
	}
	return h, link
}

// setLink sets node's eth0 up or down.
func (n labNode) setLink(t *testing.T, up bool) {
	t.Helper()
	set := n.nl.LinkSetDown
	if up {
		set = n.nl.LinkSetUp
	}
	if err := set(n.eth0); err != nil {
		t.Fatalf("set eth0 of %s up=%t: %v", n.name, up, err)
	}
}

func (l *lab) namespaces() []string {
	out := make([]string, 0, len(l.nodes))
	for _, n := range l.nodes {
		out = append(out, n.ns)
	}
	return out
}

func (l *lab) peers() string {
	var ps []string
	for _, n := range l.nodes {
		ps = append(ps, n.addr.String())
	}
	return strings.Join(ps, ",")
}

// helper is one member process.
type helper struct {
	node  labNode
	cmd   *exec.Cmd
	stdin io.Closer
	lines chan report
}

// report is one membership line of a helper, stamped on arrival.
type report struct {
	at      time.Time
	members []string
}

// start runs a member in node's namespace.
func (l *lab) start(node labNode) *helper {
	t := l.t
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", node.ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "MEMBER_NAME="+node.name,
		"MEMBER_ADDR="+node.addr.Addr().String(), "MEMBER_PEERS="+l.peers(),
		"MEMBER_KEY="+hex.EncodeToString(testKey))
	if *netnsDebug {
		cmd.Env = append(cmd.Env, "MEMBER_DEBUG=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start member %s: %v", node.name, err)
	}
	h := &helper{node: node, cmd: cmd, stdin: stdin, lines: make(chan report, 1024)}
	go h.read(stdout)
	t.Cleanup(h.kill)
	return h
}

func (h *helper) read(r io.Reader) {
	defer close(h.lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		list, ok := strings.CutPrefix(sc.Text(), "members ")
		if !ok {
			continue
		}
		h.lines <- report{at: time.Now(), members: strings.Split(list, ",")}
	}
}

// kill SIGKILLs the member (idempotent).
func (h *helper) kill() {
	if h.cmd.ProcessState == nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
}

// await waits until the helper reports want and returns when that report
// arrived.
func (h *helper) await(t *testing.T, want []string) time.Time {
	t.Helper()
	deadline := time.NewTimer(liveness)
	defer deadline.Stop()
	for {
		select {
		case r, ok := <-h.lines:
			if !ok {
				t.Fatalf("member %s exited before reporting %v", h.node.name, want)
			}
			if slices.Equal(r.members, want) {
				return r.at
			}
		case <-deadline.C:
			t.Fatalf("member %s did not report %v within %v", h.node.name, want, liveness)
		}
	}
}

func TestNetnsFailover(t *testing.T) {
	requireRoot(t)
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	l := newLab(t, 3)
	all := []string{"node0", "node1", "node2"}
	hs := make([]*helper, 3)
	for i, n := range l.nodes {
		hs[i] = l.start(n)
	}
	for _, h := range hs {
		h.await(t, all)
	}
	detect := map[string][]time.Duration{}
	var rejoin []time.Duration
	for run := range *netnsRuns {
		for _, scenario := range []string{"kill", "link down + kill"} {
			v := run % 3
			// A random phase against the probe schedule.
			time.Sleep(200*time.Millisecond + time.Duration(run*73%200)*time.Millisecond)
			failed := time.Now()
			if scenario != "kill" {
				l.nodes[v].setLink(t, false)
			}
			hs[v].kill()
			survivors := without(all, l.nodes[v].name)
			t.Logf("run %d: %s of %s at %s", run, scenario, l.nodes[v].name, failed.Format("15:04:05.000"))
			for i, h := range hs {
				if i != v {
					detect[scenario] = append(detect[scenario], h.await(t, survivors).Sub(failed))
				}
			}
			if scenario != "kill" {
				l.nodes[v].setLink(t, true)
			}
			restarted := time.Now()
			hs[v] = l.start(l.nodes[v])
			var last time.Time
			for _, h := range hs {
				if at := h.await(t, all); at.After(last) {
					last = at
				}
			}
			rejoin = append(rejoin, last.Sub(restarted))
		}
	}
	for _, s := range []string{"kill", "link down + kill"} {
		t.Logf("%-17s time to dead on each survivor: %s", s, summary(detect[s]))
	}
	t.Logf("%-17s restart until all three see it: %s", "rejoin", summary(rejoin))
}

// summary formats n, min, p50 and max of ds, and the values.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	var vals []string
	for _, d := range ds {
		vals = append(vals, d.Round(time.Millisecond).String())
	}
	return fmt.Sprintf("n=%d min %v p50 %v max %v (%s)", len(s), s[0].Round(time.Millisecond),
		s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), strings.Join(vals, " "))
}

// runHelper is the member process: it runs a Membership with the
// MEMBER_* settings and prints "members a,b,c" on every change, until
// SIGTERM or until its stdin closes (the test ended).
func runHelper() int {
	key, err := hex.DecodeString(os.Getenv("MEMBER_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad MEMBER_KEY:", err)
		return 2
	}
	var peers []netip.AddrPort
	for _, p := range strings.Split(os.Getenv("MEMBER_PEERS"), ",") {
		ap, err := netip.ParseAddrPort(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad MEMBER_PEERS:", err)
			return 2
		}
		peers = append(peers, ap)
	}
	cfg := DefaultConfig()
	cfg.NodeName, cfg.SecretKey = os.Getenv("MEMBER_NAME"), key
	cfg.BindAddr, cfg.AdvertiseAddr = os.Getenv("MEMBER_ADDR"), os.Getenv("MEMBER_ADDR")
	level := slog.LevelWarn
	if os.Getenv("MEMBER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", cfg.NodeName)
	m, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	m.SetPeers(peers)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	health := time.NewTicker(20 * time.Millisecond)
	defer health.Stop()
	lastHealth := 0
	for {
		select {
		case <-health.C:
			if h := m.HealthScore(); h != lastHealth && level == slog.LevelDebug {
				cfg.Logger.Debug("health score changed", "score", h)
				lastHealth = h
			}
		case <-m.Changed():
			fmt.Printf("members %s\n", strings.Join(names(m.Members()), ","))
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		}
	}
}
