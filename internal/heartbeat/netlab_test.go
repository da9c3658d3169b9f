//go:build linux

package heartbeat_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/internal/heartbeat"
)

// netLab is n namespaces, each with eth0 on a bridge in a LAN namespace,
// one detector process per node. Everything is removed when the test
// ends; the processes die with their namespaces.
type netLab struct {
	t      *testing.T
	prefix string
	lan    netns.NS
	nodes  []*labNode
	cfg    heartbeat.Config // timing of every detector
}

// labNode is one node namespace.
type labNode struct {
	name string
	ns   netns.NS
	addr netip.AddrPort
	nl   *netlink.Handle // in ns: cuts eth0 without a fork
	eth0 netlink.Link
	h    *helper // its detector process
}

// requireLab skips (fails with CI=true) without root, ip and nft.
func requireLab(t *testing.T) {
	t.Helper()
	prereq.Require(t, "ip", "nft", "sh")
	if testing.Short() {
		t.Skip("network namespace test skipped in -short mode")
	}
}

// newNetLab builds n nodes on a bridge and starts a detector in each.
func newNetLab(t *testing.T, n int, cfg heartbeat.Config) *netLab {
	t.Helper()
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	l := &netLab{t: t, prefix: "phb-" + hex.EncodeToString(suffix[:]), cfg: cfg}
	t.Cleanup(l.close)
	ctx := context.Background()
	l.lan = l.create(ctx, l.prefix+"-lan")
	_ = l.lan.SysctlIfExists([2]string{"net.bridge.bridge-nf-call-iptables", "0"},
		[2]string{"net.bridge.bridge-nf-call-ip6tables", "0"}, [2]string{"net.bridge.bridge-nf-call-arptables", "0"})
	l.ipBatch(l.lan, "link add br0 type bridge stp_state 0 forward_delay 0", "link set br0 up")
	for i := range n {
		nd := &labNode{
			name: fmt.Sprintf("node%d", i),
			ns:   l.create(ctx, fmt.Sprintf("%s-n%d", l.prefix, i)),
			addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 232, 0, byte(i + 1)}), heartbeat.DefaultPort),
		}
		veth := fmt.Sprintf("v%d", i)
		l.ipBatch(netns.Root, fmt.Sprintf("link add %s netns %s type veth peer name eth0 netns %s", veth, l.lan, nd.ns))
		l.ipBatch(l.lan, fmt.Sprintf("link set %s master br0 up", veth))
		l.ipBatch(nd.ns, "link set lo up", "addr add "+nd.addr.Addr().String()+"/24 dev eth0", "link set eth0 up")
		nd.nl, nd.eth0 = linkHandle(t, nd.ns)
		l.nodes = append(l.nodes, nd)
	}
	for _, nd := range l.nodes {
		nd.h = l.startHelper(nd)
	}
	return l
}

func (l *netLab) create(ctx context.Context, name string) netns.NS {
	l.t.Helper()
	ns, err := netns.Create(ctx, name)
	if err != nil {
		l.t.Fatal(err)
	}
	return ns
}

func (l *netLab) ipBatch(ns netns.NS, lines ...string) {
	l.t.Helper()
	if err := ns.IPBatch(context.Background(), lines); err != nil {
		l.t.Fatal(err)
	}
}

// close kills the detectors and removes the namespaces.
func (l *netLab) close() {
	for _, nd := range l.nodes {
		if nd.h != nil {
			nd.h.kill()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range append(l.namespaces(), l.lan) {
		if ns != "" && ns.Exists() {
			if err := ns.Delete(ctx); err != nil {
				l.t.Errorf("cleanup: %v", err)
			}
		}
	}
}

func (l *netLab) namespaces() []netns.NS {
	var out []netns.NS
	for _, nd := range l.nodes {
		out = append(out, nd.ns)
	}
	return out
}

// linkHandle returns a netlink handle in ns and its eth0.
func linkHandle(t *testing.T, ns netns.NS) (*netlink.Handle, netlink.Link) {
	t.Helper()
	nsh, err := vnetns.GetFromPath(ns.Path())
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

// setLink sets the node's eth0 up or down and returns when it was done.
func (nd *labNode) setLink(t *testing.T, up bool) time.Time {
	t.Helper()
	set := nd.nl.LinkSetDown
	if up {
		set = nd.nl.LinkSetUp
	}
	at := time.Now()
	if err := set(nd.eth0); err != nil {
		t.Fatalf("set eth0 of %s up=%t: %v", nd.name, up, err)
	}
	return at
}

// addLoss drops pct% of the packets every node receives (nftables, input
// hook: UDP heartbeats and TCP probes alike).
func (l *netLab) addLoss(pct int) {
	l.t.Helper()
	rules := fmt.Sprintf("table inet phbloss { chain in { type filter hook input priority 0; policy accept; numgen random mod 100 < %d drop; }; }\n", pct)
	for _, nd := range l.nodes {
		cmd := nd.ns.Command(context.Background(), "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			l.t.Fatalf("nft in %s: %v\n%s", nd.ns, err, out)
		}
	}
}

// startHogs runs one busy loop per CPU until the test ends.
func startHogs(t *testing.T) {
	t.Helper()
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start CPU hog: %v", err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
}
