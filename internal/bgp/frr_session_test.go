package bgp

import (
	"net/netip"
	"strings"
	"testing"
)

// TestFRREBGPDualStack: one IPv4 and one IPv6 eBGP session to FRR; a /32
// and a /128 reach FRR's BGP table and its kernel, and are withdrawn.
func TestFRREBGPDualStack(t *testing.T) {
	l := newLink(t)
	f := startFRR(t, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{
		l.Local4.String(): speakerASN, l.Local6.String(): speakerASN,
	}, "", ""), false)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	if err := s.SetPeers(ctx, []PeerConfig{ebgpPeer("r4", l.Remote4), ebgpPeer("r6", l.Remote6)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "r4", "r6")

	v4, v6 := netip.MustParsePrefix("198.51.100.10/32"), netip.MustParsePrefix("2001:db8::10/128")
	for _, p := range []netip.Prefix{v4, v6} {
		if err := s.SetPath(ctx, Path{Prefix: p}); err != nil {
			t.Fatal(err)
		}
	}
	waitRoute(t, f, "ipv4", v4.String(), true)
	waitRoute(t, f, "ipv6", v6.String(), true)
	waitKernel(t, l, "-4", "198.51.100.10", true)
	waitKernel(t, l, "-6", "2001:db8::10", true)
	for dest, want := range map[string]netip.Addr{"198.51.100.10": l.Local4, "2001:db8::10": l.Local6} {
		if got := routeVia(t, l, dest); !strings.Contains(got, "via "+want.String()) {
			t.Errorf("route to %s: %q, want via %s", dest, got, want)
		}
	}
	// Each family only travels on its own session.
	if got := f.table(t, "ipv4")[v4.String()]; len(got) != 1 || got[0].Peer != l.Local4.String() {
		t.Errorf("IPv4 paths at FRR = %+v, want one from %s", got, l.Local4)
	}
	for _, st := range s.Sessions() {
		if st.PrefixesSent != 1 || st.PeerASN != routerASN || st.EstablishedAt.IsZero() {
			t.Errorf("session %+v: want 1 prefix sent, ASN %d, an established time", st, routerASN)
		}
	}

	for _, p := range []netip.Prefix{v4, v6} {
		if err := s.DeletePath(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitRoute(t, f, "ipv4", v4.String(), false)
	waitRoute(t, f, "ipv6", v6.String(), false)
	waitKernel(t, l, "-4", "198.51.100.10", false)
	waitKernel(t, l, "-6", "2001:db8::10", false)
}
