package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// newP2PLink is a point-to-point veth link to a router namespace with
// IPv6 link-local addresses only (fixed MACs, so fixed addresses), for
// unnumbered sessions.
func newP2PLink(t testing.TB) *link {
	t.Helper()
	needLab(t)
	n := linkSeq.Add(1)
	l := &link{NS: fmt.Sprintf("pyb%d-%d", os.Getpid(), n), Dev: fmt.Sprintf("vr%d", n)}
	mustRun(t, "ip", "netns", "add", l.NS)
	t.Cleanup(func() { l.destroy(t) })
	for _, s := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.forwarding=1", "net.ipv4.ip_forward=1"} {
		mustRun(t, "ip", "netns", "exec", l.NS, "sysctl", "-qw", s)
	}
	mustRun(t, "ip", "link", "add", l.Dev, "address", fmt.Sprintf("02:00:00:77:%02x:01", n), "type", "veth",
		"peer", "name", "eth0", "netns", l.NS, "address", fmt.Sprintf("02:00:00:77:%02x:02", n))
	mustRun(t, "ip", "link", "set", l.Dev, "up")
	mustRun(t, "ip", "-n", l.NS, "link", "set", "eth0", "up")
	mustRun(t, "ip", "-n", l.NS, "link", "set", "lo", "up")
	return l
}

// unnumberedFRR is FRR's side of an unnumbered session on eth0.
func unnumberedFRR(routerID string) string {
	return fmt.Sprintf(`router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor eth0 interface remote-as external
 address-family ipv4 unicast
  neighbor eth0 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor eth0 activate
 exit-address-family
exit
`, routerASN, routerID)
}

// TestFRRUnnumbered: a session configured on an interface waits, reported
// Idle with the reason, while no router is on the link; once FRR runs
// "neighbor eth0 interface" (which sends router advertisements), the
// session comes up between the link-local addresses, and an IPv4 and an
// IPv6 prefix reach FRR and its kernel with our link-local address as next
// hop (IPv4 over an IPv6 next hop: RFC 8950).
func TestFRRUnnumbered(t *testing.T) {
	l := newP2PLink(t)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	peer := ebgpPeer("p2p", netip.Addr{})
	peer.Interface = l.Dev
	if err := s.SetPeers(ctx, []PeerConfig{peer}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "session waiting for its router", func() error {
		st, ok := sessionOf(s, "p2p")
		if !ok || st.State != StateIdle || !strings.Contains(st.LastError, "no ipv6 link-local neighbor") || st.Address.IsValid() {
			return fmt.Errorf("session %+v", st)
		}
		return nil
	})

	f := startFRR(t, l, unnumberedFRR("192.0.2.77"), false)
	waitEstablished(t, s, "p2p")
	st, _ := sessionOf(s, "p2p")
	if !st.Address.IsLinkLocalUnicast() || st.Address.Zone() != l.Dev || st.Interface != l.Dev {
		t.Errorf("session address %s, interface %q; want the router's link-local address on %s", st.Address, st.Interface, l.Dev)
	}

	v4, v6 := netip.MustParsePrefix("198.51.100.20/32"), netip.MustParsePrefix("2001:db8::20/128")
	for _, p := range []netip.Prefix{v4, v6} {
		if err := s.SetPath(ctx, Path{Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
	waitRoute(t, f, "ipv4", v4.String(), true)
	waitRoute(t, f, "ipv6", v6.String(), true)
	waitKernel(t, l, "-4", "198.51.100.20", true)
	waitKernel(t, l, "-6", "2001:db8::20", true)
	local := linkLocalOf(t, l.Dev)
	for _, dest := range []string{"198.51.100.20", "2001:db8::20"} {
		if got := routeVia(t, l, dest); !strings.Contains(got, local.String()) || !strings.Contains(got, "eth0") {
			t.Errorf("route to %s at the router: %q, want via %s dev eth0", dest, got, local)
		}
	}

	for _, p := range []netip.Prefix{v4, v6} {
		if err := s.DeletePath(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitRoute(t, f, "ipv4", v4.String(), false)
	waitKernel(t, l, "-4", "198.51.100.20", false)
	if err := s.SetPeers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Sessions()); n != 0 {
		t.Errorf("%d sessions left after removing the peer", n)
	}
}

// linkLocalOf returns the link-local address of dev in this namespace.
func linkLocalOf(t testing.TB, dev string) netip.Addr {
	t.Helper()
	for _, f := range strings.Fields(mustRun(t, "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link")) {
		if p, err := netip.ParsePrefix(f); err == nil {
			return p.Addr()
		}
	}
	t.Fatalf("no link-local address on %s", dev)
	return netip.Addr{}
}

// fakeLinks is a Links whose router address the test sets.
type fakeLinks struct {
	mu        sync.Mutex
	addr      netip.Addr // invalid: no router
	solicited map[string]int
}

func (f *fakeLinks) set(a netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr = a
}

func (f *fakeLinks) Neighbor(ifname string) (netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.addr.IsValid() {
		return netip.Addr{}, errors.New("no router here")
	}
	return f.addr, nil
}

func (f *fakeLinks) Solicit(ifname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.solicited[ifname]++
	return nil
}

func (f *fakeLinks) solicitations(ifname string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.solicited[ifname]
}

// TestUnnumberedFollowsRouter: without a router on the link the session
// waits, reported with the reason, and the link is solicited; once the
// router is found the session runs to its address, and when the router
// answers from another address while the session is down, the session is
// re-created for it. No router answers here: the addresses are the fake's.
func TestUnnumberedFollowsRouter(t *testing.T) {
	l := newP2PLink(t)
	links := &fakeLinks{solicited: map[string]int{}}
	s := startServer(t, Config{Links: links})
	peer := ebgpPeer("p2p", netip.Addr{})
	peer.Interface = l.Dev
	if err := s.SetPeers(ctxT(t), []PeerConfig{peer}); err != nil {
		t.Fatal(err)
	}
	waitSession := func(what string, ok func(SessionState) bool) {
		t.Helper()
		waitFor(t, 10*time.Second, what, func() error {
			if st, _ := sessionOf(s, "p2p"); !ok(st) {
				return fmt.Errorf("session %+v", st)
			}
			return nil
		})
	}
	waitSession("waiting with the reason", func(st SessionState) bool {
		return st.State == StateIdle && strings.Contains(st.LastError, "no router here") && !st.Address.IsValid()
	})
	if links.solicitations(l.Dev) == 0 {
		t.Errorf("%s not solicited while the session waits", l.Dev)
	}
	for _, a := range []string{"fe80::1", "fe80::2"} {
		want := netip.MustParseAddr(a).WithZone(l.Dev)
		links.set(want)
		waitSession("session to "+want.String(), func(st SessionState) bool { return st.Address == want && st.LastError == "" })
	}
	if err := s.SetPeers(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Sessions()); n != 0 {
		t.Errorf("%d sessions left after removing the peer", n)
	}
}
