package bgp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frr is a private FRR instance (zebra, bgpd and optionally bfdd) running in
// a link's router namespace.
type frr struct {
	l   *link
	dir string
}

// startFRR writes conf (bgpd/bfdd configuration; the same file is given to
// every daemon) and starts zebra, bgpd and, if withBFD, bfdd in l's
// namespace. Cleanup is l's (killing the namespace's processes) plus the
// run directory.
func startFRR(t testing.TB, l *link, conf string, withBFD bool) *frr {
	t.Helper()
	dir, err := os.MkdirTemp("", l.NS+"-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &frr{l: l, dir: dir}
	full := "frr defaults traditional\nhostname " + l.NS + "\nlog file " + filepath.Join(dir, "frr.log") + "\n" + conf
	if err := os.WriteFile(filepath.Join(dir, "frr.conf"), []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "chown", "-R", "frr:frr", dir)
	f.daemon(t, "zebra")
	waitFor(t, 10*time.Second, "zebra socket", func() error {
		_, err := os.Stat(filepath.Join(dir, "zserv.api"))
		return err
	})
	if withBFD {
		f.daemon(t, "bfdd", "--bfdctl", filepath.Join(dir, "bfdd.sock"))
	}
	f.daemon(t, "bgpd")
	waitFor(t, 10*time.Second, "bgpd vty", func() error {
		_, err := f.vtysh("show bgp summary")
		return err
	})
	return f
}

func (f *frr) daemon(t testing.TB, name string, extra ...string) {
	t.Helper()
	args := []string{"netns", "exec", f.l.NS, "/usr/lib/frr/" + name, "-d",
		"-f", filepath.Join(f.dir, "frr.conf"), "-i", filepath.Join(f.dir, name+".pid"),
		"--vty_socket", f.dir, "-z", filepath.Join(f.dir, "zserv.api"), "-P", "0", "-u", "frr", "-g", "frr"}
	mustRun(t, "ip", append(args, extra...)...)
}

func (f *frr) vtysh(cmd string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", f.l.NS, "vtysh", "--vty_socket", f.dir, "-c", cmd).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vtysh %q: %w: %s", cmd, err, out)
	}
	return string(out), nil
}

// configure runs lines in vtysh's configuration mode (for what daemons do
// not accept from the startup file, like bfdd's profiles).
func (f *frr) configure(t testing.TB, lines ...string) {
	t.Helper()
	args := []string{"netns", "exec", f.l.NS, "vtysh", "--vty_socket", f.dir, "-c", "configure terminal"}
	for _, l := range lines {
		args = append(args, "-c", l)
	}
	mustRun(t, "ip", args...)
}

// frrRoute is the part of `show bgp ... json` the tests read.
type frrRoute struct {
	Valid    bool   `json:"valid"`
	PathFrom string `json:"pathFrom"`
	LocPrf   uint32 `json:"locPrf"`
	Peer     string `json:"peerId"`
	Nexthops []struct {
		IP string `json:"ip"`
	} `json:"nexthops"`
}

// table returns FRR's BGP table for family "ipv4"/"ipv6": prefix -> paths.
func (f *frr) table(t testing.TB, family string) map[string][]frrRoute {
	t.Helper()
	out, err := f.vtysh("show bgp " + family + " unicast json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Routes map[string][]frrRoute `json:"routes"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("parse FRR table: %v: %s", err, out)
	}
	return v.Routes
}

// frrPeer is the part of `show bgp neighbors json` the tests read.
type frrPeer struct {
	State            string `json:"bgpState"`
	EstablishedCount int    `json:"connectionsEstablished"`
	UptimeMsec       int64  `json:"bgpTimerUpMsec"`
}

func (f *frr) neighbor(t testing.TB, addr string) frrPeer {
	t.Helper()
	out, err := f.vtysh("show bgp neighbors " + addr + " json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]frrPeer
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("parse FRR neighbor: %v: %s", err, out)
	}
	return v[addr]
}

// routeDetail returns `show bgp <family> unicast <prefix> json`.
func (f *frr) routeDetail(t testing.TB, family, prefix string) string {
	t.Helper()
	out, err := f.vtysh("show bgp " + family + " unicast " + prefix + " json")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// frrConf builds a bgpd configuration with one passive neighbor per address
// (IPv6 neighbors activated in the IPv6 family), plus extra lines inside
// "router bgp" and after it.
func frrConf(asn uint32, routerID string, neighbors map[string]uint32, inRouter, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "router bgp %d\n bgp router-id %s\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n bgp graceful-restart\n", asn, routerID)
	var v4, v6 []string
	for addr, remote := range neighbors {
		fmt.Fprintf(&b, " neighbor %s remote-as %d\n neighbor %s passive\n", addr, remote, addr)
		if strings.Contains(addr, ":") {
			v6 = append(v6, addr)
		} else {
			v4 = append(v4, addr)
		}
	}
	b.WriteString(inRouter)
	b.WriteString(" address-family ipv4 unicast\n")
	for _, a := range v4 {
		fmt.Fprintf(&b, "  neighbor %s activate\n", a)
	}
	b.WriteString(" exit-address-family\n address-family ipv6 unicast\n")
	for _, a := range v6 {
		fmt.Fprintf(&b, "  neighbor %s activate\n", a)
	}
	b.WriteString(" exit-address-family\nexit\n")
	b.WriteString(after)
	return b.String()
}

var errNotYet = errors.New("not yet")

// waitFor polls fn every 20 ms until it returns nil or timeout passes. The
// timeout is a generous upper bound, never a performance assertion.
func waitFor(t testing.TB, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
