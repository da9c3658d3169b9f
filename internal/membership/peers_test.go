package membership

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissingPeers(t *testing.T) {
	ap := netip.MustParseAddrPort
	members := []Member{
		{Name: "a", Addr: ap("10.0.0.1:7946")},
		{Name: "b", Addr: ap("[::ffff:10.0.0.2]:7946")},
		{Name: "c", Addr: ap("[fd00::3]:7946")},
	}
	for _, tc := range []struct {
		name  string
		peers []netip.AddrPort
		want  []netip.AddrPort
	}{
		{"none", nil, nil},
		{"all known", []netip.AddrPort{ap("10.0.0.1:7946"), ap("10.0.0.2:7946"), ap("[fd00::3]:7946")}, nil},
		{"mapped peer matches plain member", []netip.AddrPort{ap("[::ffff:10.0.0.1]:7946")}, nil},
		{"other port is missing", []netip.AddrPort{ap("10.0.0.1:7947")}, []netip.AddrPort{ap("10.0.0.1:7947")}},
		{
			"sorted, deduplicated, unmapped",
			[]netip.AddrPort{ap("10.0.0.9:7946"), ap("[fd00::9]:7946"), ap("10.0.0.5:7946"), ap("[::ffff:10.0.0.9]:7946")},
			[]netip.AddrPort{ap("10.0.0.5:7946"), ap("10.0.0.9:7946"), ap("[fd00::9]:7946")},
		},
		{"invalid ignored", []netip.AddrPort{{}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := missingPeers(tc.peers, members)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("missingPeers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActive(t *testing.T) {
	got := Active([]Member{{Name: "c"}, {Name: "b", Draining: true}, {Name: "a"}})
	if diff := cmp.Diff([]string{"a", "c"}, got); diff != "" {
		t.Errorf("Active (-want +got):\n%s", diff)
	}
	if got := Active(nil); len(got) != 0 {
		t.Errorf("Active(nil) = %v", got)
	}
}
