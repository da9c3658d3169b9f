package bgp

import (
	"testing"
	"time"
)

// TestFRRMD5: the right password establishes; a wrong one never does.
func TestFRRMD5(t *testing.T) {
	l := newLink(t)
	startFRR(t, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN},
		" neighbor "+l.Local4.String()+" password s3cret\n", ""), false)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	p := ebgpPeer("r", l.Remote4)
	p.Password = "wrong"
	if err := s.SetPeers(ctx, []PeerConfig{p}); err != nil {
		t.Fatal(err)
	}
	// gobgp's first attempts come 1.5-2 s and ~5 s after the peer is added.
	time.Sleep(7 * time.Second)
	if st, _ := sessionOf(s, "r"); st.State == StateEstablished || st.State == StateOpenSent || st.State == StateOpenConfirm {
		t.Fatalf("wrong password reached %s", st.State)
	}
	p.Password = "s3cret"
	if err := s.SetPeers(ctx, []PeerConfig{p}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "r")
}

// TestFRRChangeOnePeer: changing one session re-creates it and leaves the
// other one alone.
func TestFRRChangeOnePeer(t *testing.T) {
	s, f1, f2 := twoRouters(t)
	ctx := ctxT(t)
	r1 := f1.neighbor(t, f1.l.Local4.String())
	st1, _ := sessionOf(s, "r1")
	if r1.EstablishedCount != 1 {
		t.Fatalf("r1 established %d times before the change", r1.EstablishedCount)
	}
	peers := []PeerConfig{
		{Name: "r1", MyASN: speakerASN, DynamicASN: DynamicASNInternal, Address: f1.l.Remote4, HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second, ConnectTime: 5 * time.Second},
		ebgpPeer("r2", f2.l.Remote4),
	}
	// Same configuration again, spelled with defaults: nothing may move.
	peers[1].Port = 179
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	peers[1].HoldTime = 12 * time.Second
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "r2 re-established", func() error {
		if f2.neighbor(t, f2.l.Local4.String()).EstablishedCount < 2 {
			return errNotYet
		}
		return nil
	})
	waitEstablished(t, s, "r1", "r2")
	if got := f1.neighbor(t, f1.l.Local4.String()); got.EstablishedCount != 1 || got.UptimeMsec < r1.UptimeMsec {
		t.Errorf("r1 was reset: before %+v, after %+v", r1, got)
	}
	if now, _ := sessionOf(s, "r1"); !now.EstablishedAt.Equal(st1.EstablishedAt) {
		t.Errorf("r1 established at %v, before the change %v", now.EstablishedAt, st1.EstablishedAt)
	}
	if err := s.SetPeers(ctx, peers[:1]); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Sessions()); got != 1 {
		t.Errorf("%d sessions after removing r2, want 1", got)
	}
	waitFor(t, 10*time.Second, "r2 down at the router", func() error {
		if f2.neighbor(t, f2.l.Local4.String()).State == "Established" {
			return errNotYet
		}
		return nil
	})
}

// TestFRRDynamicASN: an external session learns the router's ASN; one that
// meets a router using our own ASN is reset.
func TestFRRDynamicASN(t *testing.T) {
	l1, l2 := newLink(t), newLink(t)
	startFRR(t, l1, frrConf(routerASN, l1.Remote4.String(), map[string]uint32{l1.Local4.String(): speakerASN}, "", ""), false)
	f2 := startFRR(t, l2, frrConf(speakerASN, l2.Remote4.String(), map[string]uint32{l2.Local4.String(): speakerASN}, "", ""), false)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	ext := func(name string, l *link) PeerConfig {
		return PeerConfig{Name: name, MyASN: speakerASN, DynamicASN: DynamicASNExternal, Address: l.Remote4, HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second, ConnectTime: 5 * time.Second}
	}
	if err := s.SetPeers(ctx, []PeerConfig{ext("ebgp", l1), ext("ibgp", l2)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no Changed signal after SetPeers")
	}
	waitEstablished(t, s, "ebgp")
	if st, _ := sessionOf(s, "ebgp"); st.PeerASN != routerASN {
		t.Errorf("learned ASN %d, want %d", st.PeerASN, routerASN)
	}
	waitFor(t, 30*time.Second, "session with our own ASN reset", func() error {
		if p := f2.neighbor(t, l2.Local4.String()); p.EstablishedCount == 0 || p.State == "Established" {
			return errNotYet
		}
		return nil
	})
	if st, _ := sessionOf(s, "ibgp"); st.State == StateEstablished {
		t.Errorf("session with our own ASN is %s", st.State)
	}
}
