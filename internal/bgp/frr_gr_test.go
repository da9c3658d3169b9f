package bgp

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// kernelWatch polls the router's kernel for dest every 10 ms until stop is
// closed and counts the polls that did not find it.
func kernelWatch(l *link, dest string, stop <-chan struct{}) (missing *atomic.Int32, done <-chan struct{}) {
	missing = new(atomic.Int32)
	d := make(chan struct{})
	go func() {
		defer close(d)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if out, err := run("ip", "-n", l.NS, "route", "show", dest); err == nil && strings.TrimSpace(out) == "" {
				missing.Add(1)
			}
		}
	}()
	return missing, d
}

func grPeer(l *link) PeerConfig {
	p := ebgpPeer("r", l.Remote4)
	p.GracefulRestart = true
	return p
}

// TestFRRGracefulRestart: with graceful restart, stopping the speaker and
// starting a new one keeps the route in FRR's kernel the whole time; the
// route is stale in between and fresh again after our End-of-RIB.
func TestFRRGracefulRestart(t *testing.T) {
	l := newLink(t)
	f := startFRR(t, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN}, "", ""), false)
	pfx := netip.MustParsePrefix("198.51.100.60/32")
	ctx := ctxT(t)

	s1 := startServer(t, Config{})
	if err := s1.SetPath(ctx, Path{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	if err := s1.SetPeers(ctx, []PeerConfig{grPeer(l)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s1, "r")
	waitKernel(t, l, "-4", pfx.Addr().String(), true)

	stop := make(chan struct{})
	missing, watched := kernelWatch(l, pfx.Addr().String(), stop)
	restartAt := time.Now()
	if err := s1.stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "route stale at FRR", func() error {
		if !strings.Contains(f.routeDetail(t, "ipv4", pfx.String()), `"stale":true`) {
			return errNotYet
		}
		return nil
	})
	time.Sleep(time.Second) // the speaker is down for a while

	s2 := startServer(t, Config{})
	if err := s2.SetPath(ctx, Path{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	if err := s2.SetPeers(ctx, []PeerConfig{grPeer(l)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s2, "r")
	waitFor(t, 20*time.Second, "route fresh again at FRR", func() error {
		d := f.routeDetail(t, "ipv4", pfx.String())
		if strings.Contains(d, `"stale":true`) || !strings.Contains(d, `"valid":true`) {
			return errNotYet
		}
		return nil
	})
	t.Logf("FIGURE graceful restart: route fresh again %v after the old speaker stopped (1 s down, then gobgp's 1.5-2 s first-connect delay)", time.Since(restartAt))
	close(stop)
	<-watched
	if n := missing.Load(); n != 0 {
		t.Errorf("route missing from FRR's kernel in %d polls of 10 ms during the restart", n)
	}
}

// TestFRRNoGracefulRestart is the control: without graceful restart the
// route leaves FRR as soon as the speaker stops.
func TestFRRNoGracefulRestart(t *testing.T) {
	l := newLink(t)
	startFRR(t, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN}, "", ""), false)
	pfx := netip.MustParsePrefix("198.51.100.61/32")
	ctx := ctxT(t)
	s := startServer(t, Config{})
	if err := s.SetPeers(ctx, []PeerConfig{ebgpPeer("r", l.Remote4)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPath(ctx, Path{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, l, "-4", pfx.Addr().String(), true)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, l, "-4", pfx.Addr().String(), false)
}
