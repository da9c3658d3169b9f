//go:build linux

package l2_test

import (
	"bufio"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests run the Announcer on real packet sockets inside network
// namespaces (see lab) and check the result with the Linux client's own
// tools: ping, curl, arping and its neighbour table.

func hasInterfaces(names ...string) func(event) bool {
	return func(e event) bool { return slices.Equal(e.Interfaces, names) }
}

func TestWireHandover(t *testing.T) {
	for _, tc := range []struct{ name, ip string }{{"IPv4", labSvc4}, {"IPv6", labSvc6}} {
		t.Run(tc.name, func(t *testing.T) { testHandover(t, tc.ip) })
	}
}

// testHandover: node A announces ip, then ownership moves back and forth
// between A and B the way the speaker hands over gracefully (the new owner
// announces, the old one stops when it sees the new owner's claim), and
// finally nobody announces.
func testHandover(t *testing.T, ip string) {
	l := newLab(t)
	mon := l.monitorNeigh(ip)
	a, b := l.startChild(nodeANS), l.startChild(nodeBNS)
	a.waitFor("interfaces", hasInterfaces("eth0"))
	b.waitFor("interfaces", hasInterfaces("eth0"))

	start := time.Now()
	a.announce(ip)
	if !l.ping(ip) {
		t.Fatalf("client cannot ping %s announced by node A", ip)
	}
	t.Logf("%s: announce → first ping reply %v", ip, time.Since(start).Round(time.Millisecond))
	mon.waitMAC(t, macA, 2*time.Second)
	l.checkArping(ip, macA)
	if got := l.curl(ip); got != nodeANS {
		t.Fatalf("HTTP to %s answered by %q, want %q", ip, got, nodeANS)
	}

	owner, next := a, b
	macs := map[*child]string{a: macA, b: macB}
	var moves, sightings []time.Duration
	for round := range 6 {
		mon.drain()
		t0 := time.Now()
		next.announce(ip)
		moved := mon.waitMAC(t, macs[next], 2*time.Second).Sub(t0)
		owner.waitFor("foreign", func(e event) bool { return e.IP == ip && e.MAC == macs[next] })
		seen := time.Since(t0)
		owner.announce()
		moves, sightings = append(moves, moved), append(sightings, seen)
		if got := l.neighMAC(ip); got != macs[next] {
			t.Fatalf("round %d: client neighbour MAC %s, want %s", round, got, macs[next])
		}
		if got := l.curl(ip); got != next.name {
			t.Fatalf("round %d: HTTP answered by %q, want %q", round, got, next.name)
		}
		l.checkArping(ip, macs[next])
		owner, next = next, owner
	}
	t.Logf("%s: SetAnnouncements on new owner → client neighbour entry changed: %s", ip, summarize(moves))
	t.Logf("%s: SetAnnouncements on new owner → old owner reports the new owner's claim: %s", ip, summarize(sightings))

	owner.announce()
	time.Sleep(50 * time.Millisecond) // let the give-up reach the loop
	l.in(clientNS, "ip", "neigh", "flush", "dev", "eth0")
	if l.ping(ip) {
		t.Errorf("client still reaches %s after every node gave it up", ip)
	}
	if got := l.neighMAC(ip); got != "" {
		t.Errorf("client resolved %s to %s after every node gave it up", ip, got)
	}
}

func TestWireExcludedAndDownInterfaces(t *testing.T) {
	l := newLab(t)
	// A docker0 plugged into the same segment must never answer.
	l.plug(nodeANS, "vd", "docker0", macDocker)
	l.in(nodeANS, "ip", "addr", "add", "172.31.0.1/24", "dev", "docker0")
	a := l.startChild(nodeANS)
	a.waitFor("interfaces", hasInterfaces("eth0"))
	a.announce(labSvc4, labSvc6)
	for _, ip := range []string{labSvc4, labSvc6} {
		if !l.ping(ip) {
			t.Fatalf("client cannot ping %s", ip)
		}
		if got := l.neighMAC(ip); got != macA {
			t.Errorf("client resolved %s to %s, want eth0's %s", ip, got, macA)
		}
	}
	if out, ok := l.tryIn(clientNS, "arping", "-c2", "-w2", "-I", "eth0", labSvc4); ok && strings.Contains(strings.ToLower(out), macDocker) {
		t.Errorf("docker0 answered ARP:\n%s", out)
	}
	if err := a.stdin.Encode(command{Op: "stats"}); err != nil {
		t.Fatal(err)
	}
	st := a.waitFor("stats", func(event) bool { return true }).Stats
	if _, used := st.Interfaces["docker0"]; used || st.Interfaces["eth0"].ARPAnswered == 0 {
		t.Errorf("stats %+v: want eth0 answering and docker0 unused", st.Interfaces)
	}

	l.in(nodeANS, "ip", "link", "set", "eth0", "down")
	a.waitFor("interfaces", hasInterfaces())
	l.in(nodeANS, "ip", "link", "set", "eth0", "up")
	a.waitFor("interfaces", hasInterfaces("eth0"))
	l.in(clientNS, "ip", "neigh", "flush", "dev", "eth0")
	for _, ip := range []string{labSvc4, labSvc6} {
		if !l.ping(ip) {
			t.Errorf("client cannot ping %s after eth0 came back", ip)
		}
	}
}

// TestWireSplitBrain: two nodes announcing one IP report each other.
func TestWireSplitBrain(t *testing.T) {
	l := newLab(t)
	a, b := l.startChild(nodeANS), l.startChild(nodeBNS)
	a.waitFor("interfaces", hasInterfaces("eth0"))
	b.waitFor("interfaces", hasInterfaces("eth0"))
	a.announce(labSvc4, labSvc6)
	b.announce(labSvc4, labSvc6)
	for _, c := range []struct {
		n   *child
		mac string
	}{{a, macB}, {b, macA}} {
		for _, ip := range []string{labSvc4, labSvc6} {
			c.n.waitFor("foreign", func(e event) bool { return e.IP == ip && e.MAC == c.mac })
		}
	}
}

// checkArping checks, for an IPv4 address and when arping is installed,
// that an ARP request for ip is answered with mac.
func (l *lab) checkArping(ip, mac string) {
	l.t.Helper()
	if _, err := exec.LookPath("arping"); err != nil || strings.Contains(ip, ":") {
		return
	}
	out, ok := l.tryIn(clientNS, "arping", "-c1", "-w2", "-I", "eth0", ip)
	if !ok || !strings.Contains(strings.ToLower(out), mac) {
		l.t.Errorf("arping %s: want a reply from %s:\n%s", ip, mac, out)
	}
}

// neighMonitor follows `ip monitor neigh` in the client namespace.
type neighMonitor struct {
	ip    string
	lines chan stamped
}

type stamped struct {
	at   time.Time
	line string
}

func (l *lab) monitorNeigh(ip string) *neighMonitor {
	l.t.Helper()
	cmd := exec.Command("ip", "-n", l.ns(clientNS), "monitor", "neigh")
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m := &neighMonitor{ip: ip, lines: make(chan stamped, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.lines <- stamped{at: time.Now(), line: sc.Text()}
		}
		close(m.lines)
	}()
	return m
}

func (m *neighMonitor) drain() {
	for {
		select {
		case <-m.lines:
		default:
			return
		}
	}
}

// waitMAC returns when the client's entry for the IP showed mac.
func (m *neighMonitor) waitMAC(t *testing.T, mac string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case s, ok := <-m.lines:
			if !ok {
				t.Fatal("ip monitor exited")
			}
			f := strings.Fields(s.line)
			if len(f) > 0 && f[0] == m.ip && slices.Contains(f, mac) {
				return s.at
			}
		case <-deadline:
			t.Fatalf("client's neighbour entry for %s did not change to %s within %v", m.ip, mac, timeout)
		}
	}
}

func summarize(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Round(10*time.Microsecond).String())
	}
	return "median " + s[len(s)/2].Round(10*time.Microsecond).String() + ", min " + s[0].Round(10*time.Microsecond).String() +
		", max " + s[len(s)-1].Round(10*time.Microsecond).String() + " (" + strings.Join(parts, " ") + ")"
}
