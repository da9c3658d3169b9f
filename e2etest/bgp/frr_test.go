//go:build e2e

package bgp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// frrNeighbor is what the suite reads of one FRR neighbour (`show bgp
// neighbors json`) beyond routers.Session: when it came up and the
// negotiated hold time.
type frrNeighbor struct {
	State    string `json:"bgpState"`
	RemoteAS uint32 `json:"remoteAs"`
	// UpEpoch is when the session was established (seconds); UpMsec how
	// long ago.
	UpEpoch   int64 `json:"bgpTimerUpEstablishedEpoch"`
	UpMsec    int64 `json:"bgpTimerUpMsec"`
	HoldMsecs int64 `json:"bgpTimerHoldTimeMsecs"`
	// KeepaliveMsecs is the negotiated keepalive interval.
	KeepaliveMsecs int64 `json:"bgpTimerKeepAliveIntervalMsecs"`
	// Capabilities: "gracefulRestart" is "advertisedAndReceived" when both
	// sides do graceful restart.
	Capabilities map[string]any `json:"neighborCapabilities"`
}

// frrNeighbors reads every neighbour of f, by address.
func frrNeighbors(ctx context.Context, f *routers.FRR) (map[netip.Addr]frrNeighbor, error) {
	out, err := f.Vtysh(ctx, "show bgp neighbors json")
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("parse FRR neighbours: %w", err)
	}
	ns := map[netip.Addr]frrNeighbor{}
	for k, v := range raw {
		a, err := netip.ParseAddr(k)
		if err != nil {
			continue // not a neighbour (e.g. a peer group)
		}
		var n frrNeighbor
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, fmt.Errorf("parse FRR neighbour %s: %w", k, err)
		}
		ns[a] = n
	}
	return ns, nil
}

// waitEstablished waits until FRR has an established session from each of
// addrs, and returns what it read.
func (e *env) waitEstablished(t testing.TB, f *routers.FRR, addrs []netip.Addr) map[netip.Addr]frrNeighbor {
	t.Helper()
	return e.waitSessions(t, f, addrs, func(frrNeighbor) error { return nil })
}

// waitSessions waits until FRR has an established session from each of
// addrs that passes check, and returns what it read.
func (e *env) waitSessions(t testing.TB, f *routers.FRR, addrs []netip.Addr, check func(frrNeighbor) error) map[netip.Addr]frrNeighbor {
	t.Helper()
	var ns map[netip.Addr]frrNeighbor
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		if ns, err = frrNeighbors(ctx, f); err != nil {
			return false, err
		}
		for _, a := range addrs {
			if ns[a].State != "Established" {
				return false, fmt.Errorf("%s is %q", a, ns[a].State)
			}
			if err := check(ns[a]); err != nil {
				return false, fmt.Errorf("%s: %w", a, err)
			}
		}
		return true, nil
	}, "FRR %s has established sessions from %v", f.Name(), addrs)
	return ns
}

// withAS checks a session's remote AS.
func withAS(asn uint32) func(frrNeighbor) error {
	return func(n frrNeighbor) error {
		if n.RemoteAS != asn {
			return fmt.Errorf("remote AS %d, want %d", n.RemoteAS, asn)
		}
		return nil
	}
}

// baseSessions are the baseline sessions' addresses at the router: every
// node's IPv4 and IPv6 address.
func (e *env) baseSessions() []netip.Addr {
	nodes := e.l.NodeNames()
	return append(e.nodeAddrs(false, nodes...), e.nodeAddrs(true, nodes...)...)
}

// frrRanges reconfigures both listen ranges of FRR on the router (remote AS
// "external", "internal" or a number; TCP MD5 password on the IPv4 range,
// none when empty). Established sessions of a changed range are reset.
func (e *env) frrRanges(t testing.TB, remoteAS, password string) {
	t.Helper()
	cmds := []string{"conf t", fmt.Sprintf("router bgp %d", 64500),
		"neighbor RANGE0 remote-as " + remoteAS, "neighbor RANGE1 remote-as " + remoteAS}
	if password != "" {
		cmds = append(cmds, "neighbor RANGE0 password "+password)
	} else {
		cmds = append(cmds, "no neighbor RANGE0 password")
	}
	if _, err := e.frr.Vtysh(ctx(t), cmds...); err != nil {
		t.Fatal(err)
	}
}

// md5Failures reads the router namespace's count of TCP segments dropped
// for a wrong (TcpExt TCPMD5Failure) or missing (TCPMD5NotFound) MD5
// signature.
func (e *env) md5Failures(ctx context.Context) (int, error) {
	out, err := e.l.Router().NS.Run(ctx, "cat", "/proc/net/netstat")
	if err != nil {
		return 0, err
	}
	wrong, err := netstatCounter(out, "TcpExt", "TCPMD5Failure")
	if err != nil {
		return 0, err
	}
	missing, err := netstatCounter(out, "TcpExt", "TCPMD5NotFound")
	return wrong + missing, err
}

// netstatCounter finds one counter in /proc/net/netstat (pairs of header
// and value lines per group).
func netstatCounter(b []byte, group, name string) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var header []string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != group+":" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == name && i < len(f) {
				return strconv.Atoi(f[i])
			}
		}
		return 0, fmt.Errorf("no %s %s counter", group, name)
	}
	return 0, fmt.Errorf("no %s group in netstat", group)
}

// frrStale reports whether FRR marks any path of prefix stale (graceful
// restart helper mode), and whether it has the prefix at all.
func frrStale(ctx context.Context, f *routers.FRR, prefix netip.Prefix) (stale, present bool, err error) {
	fam := "ipv4"
	if prefix.Addr().Is6() {
		fam = "ipv6"
	}
	out, err := f.Vtysh(ctx, fmt.Sprintf("show bgp %s unicast %s json", fam, prefix))
	if err != nil {
		return false, false, err
	}
	var v struct {
		Paths []struct {
			Stale bool `json:"stale"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return false, false, fmt.Errorf("parse FRR prefix %s: %w", prefix, err)
	}
	for _, p := range v.Paths {
		stale = stale || p.Stale
	}
	return stale, len(v.Paths) > 0, nil
}

// routesFrom returns the paths of dst learnt from the given session
// family (FRR: the neighbour's address family).
func routesFrom(rs []routers.Route, dst netip.Prefix, v6Session bool) []routers.Route {
	var out []routers.Route
	for _, r := range rs {
		if r.Prefix == dst && r.Peer.Is6() == v6Session {
			out = append(out, r)
		}
	}
	return out
}
