package lab

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/e2etest/lab/runs"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

func TestRootLinkFor(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		id   runs.ID
		want topo.RootLink
	}{
		{1, topo.RootLink{Name: "plab0001", RootV4: p("169.254.0.2/31"), CtlV4: p("169.254.0.3/31"),
			RootV6: p("fd00:77:ff:1::1/64"), CtlV6: p("fd00:77:ff:1::2/64")}},
		{0x1a2b, topo.RootLink{Name: "plab1a2b", RootV4: p("169.254.52.86/31"), CtlV4: p("169.254.52.87/31"),
			RootV6: p("fd00:77:ff:1a2b::1/64"), CtlV6: p("fd00:77:ff:1a2b::2/64")}},
		{runs.MaxID, topo.RootLink{Name: "plab7fff", RootV4: p("169.254.255.254/31"), CtlV4: p("169.254.255.255/31"),
			RootV6: p("fd00:77:ff:7fff::1/64"), CtlV6: p("fd00:77:ff:7fff::2/64")}},
	} {
		got := RootLinkFor(tc.id)
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("RootLinkFor(%s) (-want +got):\n%s", tc.id, diff)
		}
	}
}

// Every run id gets its own /31 and /64: runs never share root-link addresses.
func TestRootLinksDistinct(t *testing.T) {
	seen := map[netip.Prefix]runs.ID{}
	for id := runs.ID(1); id <= runs.MaxID; id++ {
		rl := RootLinkFor(id)
		for _, pfx := range []netip.Prefix{rl.RootV4.Masked(), rl.RootV6.Masked()} {
			if other, dup := seen[pfx]; dup {
				t.Fatalf("runs %s and %s share %s", other, id, pfx)
			}
			seen[pfx] = id
		}
		if rl.RootV4.Masked() != rl.CtlV4.Masked() || rl.RootV4.Addr() == rl.CtlV4.Addr() {
			t.Fatalf("run %s: %s and %s are not the two ends of one /31", id, rl.RootV4, rl.CtlV4)
		}
	}
}
