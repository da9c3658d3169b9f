package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
)

// twoRouters starts an iBGP router (r1, ASN speakerASN) and an eBGP router
// (r2, ASN routerASN), each on its own link, and a speaker with sessions to
// both, and waits for them.
func twoRouters(t *testing.T) (s *runningServer, f1, f2 *frr) {
	l1, l2 := newLink(t), newLink(t)
	f1 = startFRR(t, l1, frrConf(speakerASN, l1.Remote4.String(), map[string]uint32{l1.Local4.String(): speakerASN}, "", ""), false)
	f2 = startFRR(t, l2, frrConf(routerASN, l2.Remote4.String(), map[string]uint32{l2.Local4.String(): speakerASN}, "", ""), false)
	s = startServer(t, Config{})
	ibgp := PeerConfig{Name: "r1", MyASN: speakerASN, DynamicASN: DynamicASNInternal, Address: l1.Remote4, HoldTime: 9 * time.Second,
		KeepaliveTime: 3 * time.Second, ConnectTime: 5 * time.Second}
	if err := s.SetPeers(ctxT(t), []PeerConfig{ibgp, ebgpPeer("r2", l2.Remote4)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "r1", "r2")
	return s, f1, f2
}

func updatesReceived(t testing.TB, f *frr) int {
	t.Helper()
	out, err := f.vtysh("show bgp neighbors " + f.l.Local4.String() + " json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]struct {
		Stats struct {
			UpdatesRecv int `json:"updatesRecv"`
		} `json:"messageStats"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v[f.l.Local4.String()].Stats.UpdatesRecv
}

// TestFRRAttributes: local preference reaches the iBGP router only;
// communities and large communities reach both; setting the same path again
// sends nothing.
func TestFRRAttributes(t *testing.T) {
	s, f1, f2 := twoRouters(t)
	ctx := ctxT(t)
	p := Path{
		Prefix:           netip.MustParsePrefix("198.51.100.1/32"),
		LocalPref:        250,
		Communities:      []uint32{64512<<16 | 100, 65000<<16 | 7},
		LargeCommunities: []LargeCommunity{{64512, 1, 2}},
	}
	if err := s.SetPath(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, f1, "ipv4", "198.51.100.1/32", true)
	waitRoute(t, f2, "ipv4", "198.51.100.1/32", true)
	for _, f := range []*frr{f1, f2} {
		d := f.routeDetail(t, "ipv4", "198.51.100.1/32")
		for _, want := range []string{`"64512:100 65000:7"`, `"64512:1:2"`} {
			if !strings.Contains(d, want) {
				t.Errorf("%s: route lacks %s:\n%s", f.l.NS, want, d)
			}
		}
	}
	if got := f1.table(t, "ipv4")["198.51.100.1/32"][0].LocPrf; got != 250 {
		t.Errorf("iBGP router local preference = %d, want 250", got)
	}
	if d := f2.routeDetail(t, "ipv4", "198.51.100.1/32"); strings.Contains(d, `"locPrf":250`) {
		t.Errorf("eBGP router got our local preference:\n%s", d)
	}

	before := updatesReceived(t, f1)
	same := p
	same.Communities = []uint32{65000<<16 | 7, 64512<<16 | 100, 65000<<16 | 7} // same set, other order
	if err := s.SetPath(ctx, same); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if after := updatesReceived(t, f1); after != before {
		t.Errorf("setting an identical path sent %d updates", after-before)
	}
	p.LocalPref = 300
	if err := s.SetPath(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "local preference 300", func() error {
		if r := f1.table(t, "ipv4")["198.51.100.1/32"]; len(r) != 1 || r[0].LocPrf != 300 {
			return errNotYet
		}
		return nil
	})
}

// TestFRRTargeting: a path restricted to one session reaches only that
// router; moving it withdraws it from the other; names of absent sessions
// are ignored.
func TestFRRTargeting(t *testing.T) {
	s, f1, f2 := twoRouters(t)
	ctx := ctxT(t)
	const pfx = "198.51.100.2/32"
	set := func(peers ...string) {
		t.Helper()
		if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix(pfx), Peers: peers}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(at1, at2 bool) {
		t.Helper()
		waitRoute(t, f1, "ipv4", pfx, at1)
		waitRoute(t, f2, "ipv4", pfx, at2)
		time.Sleep(200 * time.Millisecond) // a wrong announcement would show by now
		waitRoute(t, f1, "ipv4", pfx, at1)
		waitRoute(t, f2, "ipv4", pfx, at2)
	}
	set("r1")
	expect(true, false)
	set("r2")
	expect(false, true)
	set()
	expect(true, true)
	set("r1", "nobody")
	expect(true, false)
	set("nobody")
	expect(false, false)
	if err := s.DeletePath(ctx, netip.MustParsePrefix(pfx)); err != nil {
		t.Fatal(err)
	}
	set("r2")
	expect(false, true)
	counts := map[string]int{}
	for _, st := range s.Sessions() {
		counts[st.Name] = st.PrefixesSent
	}
	if counts["r1"] != 0 || counts["r2"] != 1 {
		t.Errorf("prefixes sent = %v, want r1:0 r2:1", counts)
	}
}

// TestFRRCrossFamily: with a next hop of the other family, a session
// carries prefixes of both families and FRR installs them via that next hop.
func TestFRRCrossFamily(t *testing.T) {
	for _, v6session := range []bool{false, true} {
		t.Run(map[bool]string{false: "IPv6 over IPv4", true: "IPv4 over IPv6"}[v6session], func(t *testing.T) {
			l := newLink(t)
			us, them, otherAF, nh := l.Local4, l.Remote4, "ipv6", l.Local6
			if v6session {
				us, them, otherAF, nh = l.Local6, l.Remote6, "ipv4", l.Local4
			}
			conf := frrConf(routerASN, l.Remote4.String(), map[string]uint32{us.String(): speakerASN}, "",
				"router bgp 64513\n address-family "+otherAF+" unicast\n  neighbor "+us.String()+" activate\n exit-address-family\nexit\n")
			f := startFRR(t, l, conf, false)
			s := startServer(t, Config{})
			ctx := ctxT(t)
			p := ebgpPeer("r", them)
			if v6session {
				p.IPv4NextHop = nh
			} else {
				p.IPv6NextHop = nh
			}
			if err := s.SetPeers(ctx, []PeerConfig{p}); err != nil {
				t.Fatal(err)
			}
			waitEstablished(t, s, "r")
			for _, pfx := range []string{"2001:db8::20/128", "198.51.100.20/32"} {
				if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix(pfx)}); err != nil {
					t.Fatal(err)
				}
			}
			waitRoute(t, f, "ipv6", "2001:db8::20/128", true)
			waitRoute(t, f, "ipv4", "198.51.100.20/32", true)
			waitKernel(t, l, "-6", "2001:db8::20", true)
			waitKernel(t, l, "-4", "198.51.100.20", true)
			for dest, want := range map[string]netip.Addr{"2001:db8::20": l.Local6, "198.51.100.20": l.Local4} {
				if got := routeVia(t, l, dest); !strings.Contains(got, "via "+want.String()) {
					t.Errorf("route to %s: %q, want via %s", dest, got, want)
				}
			}
			if st, _ := sessionOf(s, "r"); st.PrefixesSent != 2 {
				t.Errorf("prefixes sent = %d, want 2", st.PrefixesSent)
			}
		})
	}
}

// routeVia returns the router's kernel route to dest with its next hop
// object (if any) resolved.
func routeVia(t testing.TB, l *link, dest string) string {
	t.Helper()
	fam := "-4"
	if strings.Contains(dest, ":") {
		fam = "-6"
	}
	route := strings.TrimSpace(mustRun(t, "ip", fam, "-n", l.NS, "route", "show", dest))
	f := strings.Fields(route)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "nhid" {
			return route + " / " + strings.TrimSpace(mustRun(t, "ip", "-n", l.NS, "nexthop", "show", "id", f[i+1]))
		}
	}
	return route
}

// TestReceivedRoutesIgnored: routes the router announces never enter
// gobgp's table.
func TestReceivedRoutesIgnored(t *testing.T) {
	l := newLink(t)
	conf := frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN},
		" no bgp network import-check\n address-family ipv4 unicast\n  network 203.0.113.0/24\n exit-address-family\n", "")
	f := startFRR(t, l, conf, false)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	if err := s.SetPeers(ctx, []PeerConfig{ebgpPeer("r", l.Remote4)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "r")
	waitFor(t, 10*time.Second, "router announcing its network", func() error {
		if !strings.Contains(mustVtysh(t, f, "show bgp ipv4 unicast neighbors "+l.Local4.String()+" advertised-routes"), "203.0.113.0/24") {
			return errNotYet
		}
		return nil
	})
	// Our own path must stay the only one in the global table.
	if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix("198.51.100.30/32")}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, f, "ipv4", "198.51.100.30/32", true)
	var global, adjIn *api.GetTableResponse
	err := s.do(ctx, func(ctx context.Context, st *loopState) error {
		var err error
		global, err = st.bs.GetTable(ctx, &api.GetTableRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: familyIPv4})
		if err != nil {
			return err
		}
		adjIn, err = st.bs.GetTable(ctx, &api.GetTableRequest{TableType: api.TableType_TABLE_TYPE_ADJ_IN, Family: familyIPv4, Name: l.Remote4.String()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// adj-in holds what arrived (import policy runs after it); the global
	// table must only hold our own path.
	if adjIn.NumPath == 0 || global.NumDestination != 1 {
		t.Errorf("received %d paths (want some), global table has %d destinations (want 1, ours)", adjIn.NumPath, global.NumDestination)
	}
}

func mustVtysh(t testing.TB, f *frr, cmd string) string {
	t.Helper()
	out, err := f.vtysh(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFRRRetargetMany moves 500 prefixes from one session to the other: the
// soft resets are batched, so it takes one table re-send per session.
func TestFRRRetargetMany(t *testing.T) {
	s, f1, f2 := twoRouters(t)
	ctx := ctxT(t)
	setAll := func(peer string) {
		t.Helper()
		for j := range 500 {
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(j >> 8), byte(j)}), 32)
			if err := s.SetPath(ctx, Path{Prefix: pfx, Peers: []string{peer}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	counts := func(want1, want2 int) func() error {
		return func() error {
			if n1, n2 := frrReceivedCount(t, f1), frrReceivedCount(t, f2); n1 != want1 || n2 != want2 {
				return fmt.Errorf("r1 has %d, r2 has %d", n1, n2)
			}
			return nil
		}
	}
	setAll("r1")
	waitFor(t, 30*time.Second, "500 prefixes at r1 only", counts(500, 0))
	start := time.Now()
	setAll("r2")
	waitFor(t, 30*time.Second, "500 prefixes moved to r2", counts(0, 500))
	t.Logf("FIGURE 500 prefixes moved between sessions in %v", time.Since(start))
}
