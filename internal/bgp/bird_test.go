package bgp

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startBIRD runs BIRD 2 in l's namespace with one passive IPv4 and one
// passive IPv6 eBGP session to us, importing everything into its kernel.
func startBIRD(t testing.TB, l *link) (ctl string) {
	t.Helper()
	dir := t.TempDir()
	ctl = filepath.Join(dir, "bird.ctl")
	conf := fmt.Sprintf(`router id %[1]s;
protocol device {}
protocol kernel k4 { ipv4 { import none; export all; }; }
protocol kernel k6 { ipv6 { import none; export all; }; }
protocol bgp spk4 {
  local %[1]s as %[3]d; neighbor %[2]s as %[4]d; passive on;
  ipv4 { import all; export none; };
}
protocol bgp spk6 {
  local %[5]s as %[3]d; neighbor %[6]s as %[4]d; passive on;
  ipv6 { import all; export none; };
}
`, l.Remote4, l.Local4, routerASN, speakerASN, l.Remote6, l.Local6)
	confPath := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "ip", "netns", "exec", l.NS, "bird", "-c", confPath, "-s", ctl, "-P", filepath.Join(dir, "bird.pid"))
	return ctl
}

func birdc(t testing.TB, l *link, ctl string, cmd ...string) string {
	t.Helper()
	return mustRun(t, "ip", append([]string{"netns", "exec", l.NS, "birdc", "-s", ctl}, cmd...)...)
}

// TestBIRD: sessions with BIRD 2 come up and both families arrive in its
// table and kernel.
func TestBIRD(t *testing.T) {
	l := newLink(t)
	ctl := startBIRD(t, l)
	s := startServer(t, Config{})
	ctx := ctxT(t)
	if err := s.SetPeers(ctx, []PeerConfig{ebgpPeer("b4", l.Remote4), ebgpPeer("b6", l.Remote6)}); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, s, "b4", "b6")
	for _, p := range []string{"198.51.100.40/32", "2001:db8::40/128"} {
		if err := s.SetPath(ctx, Path{Prefix: netip.MustParsePrefix(p), Communities: []uint32{64512<<16 | 40}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "routes at BIRD", func() error {
		out := birdc(t, l, ctl, "show", "route")
		if !strings.Contains(out, "198.51.100.40/32") || !strings.Contains(out, "2001:db8::40/128") {
			return fmt.Errorf("BIRD routes:\n%s", out)
		}
		return nil
	})
	if out := birdc(t, l, ctl, "show", "route", "198.51.100.40/32", "all"); !strings.Contains(out, "(64512,40)") {
		t.Errorf("community missing at BIRD:\n%s", out)
	}
	waitKernel(t, l, "-4", "198.51.100.40", true)
	waitKernel(t, l, "-6", "2001:db8::40", true)
}
