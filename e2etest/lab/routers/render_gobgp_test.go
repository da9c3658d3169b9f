package routers

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBGPFull is fullConfig without BFD, which gobgpd lacks.
func goBGPFull() BGPConfig {
	c := fullConfig
	c.Neighbors = append([]Neighbor(nil), c.Neighbors...)
	c.Neighbors[0].BFD = false
	return c
}

func TestGoBGPConfig(t *testing.T) {
	got, err := GoBGPConfig(goBGPFull())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[global.config]\n  as = 64500\n  router-id = \"192.168.77.254\"\n",
		"[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"192.168.77.11\"\n    peer-as = 64501\n    auth-password = \"s3cret\"\n" +
			"  [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n    connect-retry = 1\n" +
			"  [neighbors.graceful-restart.config]\n    enabled = true\n" +
			"  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n" +
			"    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n[[neighbors]]\n",
		// Any AS: no peer-as. Both families, passive.
		"    neighbor-address = \"fd00:77::12\"\n  [neighbors.timers.config]\n",
		"      afi-safi-name = \"ipv4-unicast\"\n    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n" +
			"  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv6-unicast\"\n" +
			"    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n  [neighbors.transport.config]\n    passive-mode = true\n",
		"  [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = 3\n",
		"[[peer-groups]]\n  [peer-groups.config]\n    peer-group-name = \"range0\"\n    peer-as = 64501\n  [peer-groups.timers.config]\n",
		"[[dynamic-neighbors]]\n  [dynamic-neighbors.config]\n    prefix = \"192.168.77.0/24\"\n    peer-group = \"range0\"\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gobgpd.toml lacks\n%s\ngot:\n%s", want, got)
		}
	}
	md5Range := goBGPFull()
	md5Range.Listen = []ListenRange{{Prefix: netip.MustParsePrefix("192.168.77.0/24"), Password: "s3cret"}}
	for name, c := range map[string]BGPConfig{"BFD": fullConfig, "MD5 on a range": md5Range} {
		if _, err := GoBGPConfig(c); !errors.Is(err, ErrGoBGPUnsupported) {
			t.Errorf("a configuration with %s: %v, want ErrGoBGPUnsupported", name, err)
		}
	}
}

// TestGoBGPConfigParses feeds the rendered configuration to gobgpd's
// checker (-d), when installed.
func TestGoBGPConfigParses(t *testing.T) {
	if _, err := exec.LookPath(GoBGPDPath); err != nil {
		t.Skipf("gobgpd not installed: configuration not checked")
	}
	text, err := GoBGPConfig(goBGPFull())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gobgpd.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(GoBGPDPath, "-d", "-f", p).CombinedOutput(); err != nil {
		t.Errorf("gobgpd -d: %v: %s", err, out)
	}
}
