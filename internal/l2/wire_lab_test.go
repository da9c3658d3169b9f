//go:build linux

package l2_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// lab is a minimal namespace topology: a bridge in its own namespace and
// client, node-a and node-b namespaces with one eth0 each on the bridge.
// Node namespaces carry the service IPs on lo with arp_ignore=1 and
// arp_announce=2, so only the Announcer answers for them.
type lab struct {
	t      *testing.T
	prefix string
}

// Lab addresses.
const (
	labSvc4   = "10.77.0.100"
	labSvc6   = "fd77::100"
	clientNS  = "client"
	nodeANS   = "na"
	nodeBNS   = "nb"
	bridgeNS  = "br"
	macClient = "02:77:00:00:00:01"
	macA      = "02:77:00:00:00:0a"
	macB      = "02:77:00:00:00:0b"
	macDocker = "02:77:00:00:00:0c"
)

// requireWireLab skips (loudly) without root and iproute2, unless CI=true,
// where it fails.
func requireWireLab(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, bin := range []string{"ip", "ping", "curl", "sysctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("WIRE TEST NOT RUN: needs %s (network namespaces)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, "!!!", t.Name(), msg)
	t.Skip(msg)
}

// newLab builds the topology; it is torn down when the test ends.
func newLab(t *testing.T) *lab {
	requireWireLab(t)
	l := &lab{t: t, prefix: fmt.Sprintf("pl2-%d-%04x-", os.Getpid(), rand.IntN(1<<16))}
	t.Cleanup(l.teardown)
	l.run("ip", "netns", "add", l.ns(bridgeNS))
	for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"} {
		l.tryIn(bridgeNS, "sysctl", "-qw", "net.bridge."+k+"=0")
	}
	l.in(bridgeNS, "ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
	l.in(bridgeNS, "ip", "link", "set", "br0", "up")
	l.endpoint(clientNS, "vc", macClient, "10.77.0.1/24", "fd77::1/64")
	l.endpoint(nodeANS, "va", macA, "10.77.0.2/24", "fd77::2/64")
	l.endpoint(nodeBNS, "vb", macB, "10.77.0.3/24", "fd77::3/64")
	for _, ns := range []string{nodeANS, nodeBNS} {
		l.in(ns, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			// Keep eth0's IPv6 addresses across link down/up, as nodes
			// configured statically do.
			"net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.eth0.keep_addr_on_down=1")
		l.in(ns, "ip", "addr", "add", labSvc4+"/32", "dev", "lo")
		l.in(ns, "ip", "addr", "add", labSvc6+"/128", "dev", "lo")
	}
	return l
}

// endpoint creates namespace ns with eth0 (fixed MAC) plugged into br0.
func (l *lab) endpoint(ns, port, mac string, addrs ...string) {
	l.run("ip", "netns", "add", l.ns(ns))
	// Before any interface exists, so that no address is ever tentative.
	l.in(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0")
	l.in(ns, "ip", "link", "set", "lo", "up")
	l.plug(ns, port, "eth0", mac)
	for _, a := range addrs {
		l.in(ns, "ip", "addr", "add", a, "dev", "eth0")
	}
}

// plug adds a veth pair: name in ns, port on br0.
func (l *lab) plug(ns, port, name, mac string) {
	l.run("ip", "link", "add", port, "netns", l.ns(bridgeNS), "type", "veth", "peer", "name", name, "netns", l.ns(ns))
	l.in(ns, "ip", "link", "set", name, "address", mac, "up")
	l.in(bridgeNS, "ip", "link", "set", port, "master", "br0", "up")
}

func (l *lab) ns(short string) string { return l.prefix + short }

// in runs a command inside a lab namespace and fails the test on error.
func (l *lab) in(ns string, args ...string) string {
	return l.run(append([]string{"ip", "netns", "exec", l.ns(ns)}, args...)...)
}

// tryIn runs a command inside a lab namespace and reports its success.
func (l *lab) tryIn(ns string, args ...string) (string, bool) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.ns(ns)}, args...)...).CombinedOutput()
	return string(out), err == nil
}

func (l *lab) run(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// teardown kills what still runs in the lab's namespaces and deletes them.
func (l *lab) teardown() {
	for _, ns := range []string{clientNS, nodeANS, nodeBNS, bridgeNS} {
		out, _ := exec.Command("ip", "netns", "pids", l.ns(ns)).Output()
		for _, pid := range strings.Fields(string(out)) {
			_ = exec.Command("kill", "-9", pid).Run()
		}
		_ = exec.Command("ip", "netns", "del", l.ns(ns)).Run()
	}
}

// neighMAC returns the client's neighbour entry MAC for ip, or "".
func (l *lab) neighMAC(ip string) string {
	out, _ := l.tryIn(clientNS, "ip", "neigh", "show", ip, "dev", "eth0")
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// ping reports whether the client gets an echo reply from ip.
func (l *lab) ping(ip string) bool {
	_, ok := l.tryIn(clientNS, "ping", "-c1", "-W1", ip)
	return ok
}

// curl returns the body served at ip:8080, naming the node that answered.
func (l *lab) curl(ip string) string {
	host := ip
	if strings.Contains(ip, ":") {
		host = "[" + ip + "]"
	}
	out, _ := l.tryIn(clientNS, "curl", "-s", "-m", "2", "http://"+host+":8080/")
	return out
}

// child is a test binary running an Announcer inside a node namespace.
type child struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  *json.Encoder
	stderr *lockedBuffer

	mu      sync.Mutex
	history []event
	used    []bool
	exited  bool
	notify  chan struct{}
}

// startChild re-executes the test binary in ns as an Announcer.
func (l *lab) startChild(ns string) *child {
	l.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.ns(ns), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+ns)
	c := &child{t: l.t, name: ns, cmd: cmd, stderr: &lockedBuffer{}, notify: make(chan struct{}, 1)}
	cmd.Stderr = c.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start child in %s: %v", ns, err)
	}
	c.stdin = json.NewEncoder(in)
	go c.readEvents(out)
	l.t.Cleanup(func() { c.stop(in) })
	return c
}

func (c *child) readEvents(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			c.mu.Lock()
			c.history = append(c.history, e)
			c.used = append(c.used, false)
			c.mu.Unlock()
			c.wake()
		}
	}
	c.mu.Lock()
	c.exited = true
	c.mu.Unlock()
	c.wake()
}

func (c *child) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// take marks and returns the first unused event of kind ev matching ok.
func (c *child) take(ev string, ok func(event) bool) (event, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.history {
		if !c.used[i] && e.Ev == ev && ok(e) {
			c.used[i] = true
			return e, true, c.exited
		}
	}
	return event{}, false, c.exited
}

// stop closes stdin (the child exits), and shows its log if the test failed.
func (c *child) stop(in interface{ Close() error }) {
	_ = in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	if c.t.Failed() || testing.Verbose() && os.Getenv("PYLON_L2_WIRE_LOGS") != "" {
		c.t.Logf("log of %s:\n%s", c.name, c.stderr.String())
	}
}

// announce tells the child which IPs to announce (on all interfaces).
func (c *child) announce(ips ...string) {
	c.t.Helper()
	if err := c.stdin.Encode(command{Op: "announce", IPs: ips}); err != nil {
		c.t.Fatalf("send to %s: %v", c.name, err)
	}
	c.waitFor("ack", func(event) bool { return true })
}

// waitFor returns the first event of kind ev matching ok, skipping others.
func (c *child) waitFor(ev string, ok func(event) bool) event {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		e, found, exited := c.take(ev, ok)
		switch {
		case found:
			return e
		case exited:
			c.t.Fatalf("%s exited while waiting for %q:\n%s", c.name, ev, c.stderr.String())
		}
		select {
		case <-c.notify:
		case <-timeout:
			c.t.Fatalf("%s: no %q event within 10 s", c.name, ev)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
