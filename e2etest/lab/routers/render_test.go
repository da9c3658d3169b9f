package routers

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fullConfig = BGPConfig{
	ASN:      64500,
	RouterID: netip.MustParseAddr("192.168.77.254"),
	Neighbors: []Neighbor{
		{Addr: netip.MustParseAddr("192.168.77.11"), ASN: 64501, Password: "s3cret", BFD: true},
		{Addr: netip.MustParseAddr("fd00:77::12"), Passive: true, BothFamilies: true},
		{Addr: netip.MustParseAddr("192.168.79.2"), ASN: 64502, Multihop: 3},
	},
	Listen:          []ListenRange{{Prefix: netip.MustParsePrefix("192.168.77.0/24"), ASN: 64501}},
	GracefulRestart: true,
}

func TestFRRBGPD(t *testing.T) {
	want := `router bgp 64500
 bgp router-id 192.168.77.254
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 bgp log-neighbor-changes
 bgp bestpath as-path multipath-relax
 bgp graceful-restart
 timers bgp 3 9
 neighbor 192.168.77.11 remote-as 64501
 neighbor 192.168.77.11 password s3cret
 neighbor 192.168.77.11 bfd
 neighbor 192.168.77.11 bfd profile lab
 neighbor 192.168.77.11 bfd check-control-plane-failure
 neighbor fd00:77::12 remote-as external
 neighbor fd00:77::12 passive
 neighbor 192.168.79.2 remote-as 64502
 neighbor 192.168.79.2 ebgp-multihop 3
 neighbor RANGE0 peer-group
 neighbor RANGE0 remote-as 64501
 bgp listen range 192.168.77.0/24 peer-group RANGE0
 address-family ipv4 unicast
  neighbor 192.168.77.11 activate
  neighbor fd00:77::12 activate
  neighbor 192.168.79.2 activate
  neighbor RANGE0 activate
  maximum-paths 8
  maximum-paths ibgp 8
 exit-address-family
 address-family ipv6 unicast
  neighbor fd00:77::12 activate
  maximum-paths 8
  maximum-paths ibgp 8
 exit-address-family
exit
`
	if diff := cmp.Diff(want, FRRBGPD(fullConfig)); diff != "" {
		t.Errorf("bgpd.conf (-want +got):\n%s", diff)
	}
}

func TestBIRDConfig(t *testing.T) {
	got := BIRDConfig(fullConfig)
	for _, want := range []string{
		"router id 192.168.77.254;",
		"protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths on limit 8; }",
		"protocol bfd { interface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };",
		"template bgp labpeer { local as 64500; hold time 9; keepalive time 3; connect retry time 1; error wait time 1, 5; graceful restart on; }",
		`protocol bgp peer1 from labpeer { neighbor 192.168.77.11 as 64501; password "s3cret"; bfd on; ipv4 { import all; export none; }; }`,
		`protocol bgp peer2 from labpeer { neighbor fd00:77::12 external; passive on; ipv4 { import all; export none; }; ipv6 { import all; export none; }; }`,
		`protocol bgp peer3 from labpeer { neighbor 192.168.79.2 as 64502; multihop 3; ipv4 { import all; export none; }; }`,
		`protocol bgp range1 from labpeer { neighbor range 192.168.77.0/24 as 64501; dynamic name "dyn1_"; ipv4 { import all; export none; }; }`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("bird.conf lacks line %q; got:\n%s", want, got)
		}
	}
}

// TestConfigsParse feeds the rendered configurations to the real daemons'
// configuration checkers, when installed.
func TestConfigsParse(t *testing.T) {
	dir := t.TempDir()
	if _, err := exec.LookPath(BIRDPath); err == nil {
		p := filepath.Join(dir, "bird.conf")
		os.WriteFile(p, []byte(BIRDConfig(fullConfig)), 0o644)
		if out, err := exec.Command(BIRDPath, "-p", "-c", p).CombinedOutput(); err != nil {
			t.Errorf("bird -p: %v: %s", err, out)
		}
	} else {
		t.Logf("bird not installed: BIRD config not parsed")
	}
	if _, err := os.Stat(filepath.Join(FRRDir, "bgpd")); err == nil {
		if err := chownFRR(dir); err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{"bgpd": FRRBGPD(fullConfig), "bfdd": FRRBFDD(fullConfig), "zebra": FRRZebra("r")} {
			p := filepath.Join(dir, name+".conf")
			os.WriteFile(p, []byte(text), 0o644)
			out, err := exec.Command(filepath.Join(FRRDir, name), "-C", "-f", p, "-u", "frr", "-g", "frr",
				"-i", filepath.Join(dir, name+".pid"), "--vty_socket", dir).CombinedOutput()
			if err != nil || frrComplains(string(out)) {
				t.Errorf("%s -C: %v: %s", name, err, out)
			}
		}
	} else {
		t.Logf("FRR not installed: FRR config not parsed")
	}
}

// frrComplains reports whether a daemon's -C output flags a config line
// (it exits 0 even then).
func frrComplains(out string) bool {
	for _, w := range []string{"No such command", "rror", "nknown", "ncomplete", "mbiguous"} {
		if strings.Contains(out, w) {
			return true
		}
	}
	return false
}
