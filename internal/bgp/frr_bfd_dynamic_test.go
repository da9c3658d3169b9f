package bgp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// frrDynamicBFDConf is FRR accepting us as a dynamic neighbour (listen
// range, as routers facing a cluster are usually set up) with BFD from a
// profile. FRR replaces the BFD session of such a neighbour right after
// the BGP session comes up (it learns the local address): the first
// session's discriminator dies within a few hundred milliseconds.
func frrDynamicBFDConf(l *link) string {
	return frrConf(routerASN, l.Remote4.String(), nil,
		" neighbor DYN peer-group\n neighbor DYN remote-as "+fmt.Sprint(speakerASN)+"\n neighbor DYN bfd\n neighbor DYN bfd profile fast\n"+
			" bgp listen range "+netip.PrefixFrom(l.Local4, 24).Masked().String()+" peer-group DYN\n"+
			" address-family ipv4 unicast\n  neighbor DYN activate\n exit-address-family\n", "")
}

// TestFRRBFDDynamicNeighbor: BFD with a router that creates its BFD
// session when our BGP session comes up, and replaces it right after,
// comes up without flapping the BGP session, and still withdraws our
// route at once when the link is cut, also after the session came back.
func TestFRRBFDDynamicNeighbor(t *testing.T) {
	l := newSwitchedLink(t)
	f := startFRR(t, l, frrDynamicBFDConf(l), true)
	f.configure(t, "bfd", "profile fast", "receive-interval 100", "transmit-interval 100", "detect-multiplier 3")
	s := startServer(t, Config{})
	ctx := ctxT(t)
	p := ebgpPeer("r", l.Remote4)
	p.ConnectTime = time.Second
	p.BFD = &BFDConfig{ReceiveInterval: 100 * time.Millisecond, TransmitInterval: 100 * time.Millisecond, DetectMultiplier: 3}
	if err := s.SetPeers(ctx, []PeerConfig{p}); err != nil {
		t.Fatal(err)
	}
	pfx := netip.MustParsePrefix("198.51.100.52/32")
	if err := s.SetPath(ctx, Path{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		waitEstablished(t, s, "r")
		up, _ := sessionOf(s, "r")
		waitFor(t, 15*time.Second, "BFD up on both sides", func() error {
			st, _ := sessionOf(s, "r")
			if fs := frrBFDState(t, f, l.Local4.String()); st.BFD != BFDUp || fs != "up" {
				return fmt.Errorf("ours %s, FRR's %s (session %s)", st.BFD, fs, st.State)
			}
			return nil
		})
		if st, _ := sessionOf(s, "r"); !st.EstablishedAt.Equal(up.EstablishedAt) {
			t.Fatalf("round %d: the BGP session flapped while BFD came up (up at %v, now %v)", round, up.EstablishedAt, st.EstablishedAt)
		}
		waitKernel(t, l, "-4", pfx.Addr().String(), true)
		l.cut(t, false)
		cut := time.Now()
		waitKernel(t, l, "-4", pfx.Addr().String(), false)
		t.Logf("FIGURE round %d: link cut -> route gone from FRR's kernel in %v (BFD 100ms x 3, hold 9s)", round, time.Since(cut))
		l.cut(t, true)
	}
}
