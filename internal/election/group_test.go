package election

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestGroupIPs(t *testing.T) {
	tests := []struct {
		name string
		sets [][]netip.Addr
		want []Group
	}{
		{name: "nil", sets: nil, want: []Group{}},
		{name: "empty sets", sets: [][]netip.Addr{{}, nil}, want: []Group{}},
		{name: "invalid skipped", sets: [][]netip.Addr{{{}}, {{}, netip.MustParseAddr("10.0.0.1")}},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1")}}},
		{name: "single", sets: [][]netip.Addr{ips("10.0.0.1")},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1")}}},
		{name: "disjoint sorted by key", sets: [][]netip.Addr{ips("10.0.0.2"), ips("10.0.0.1")},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1")}, {Key: "10.0.0.2", Members: ips("10.0.0.2")}}},
		{name: "dual stack", sets: [][]netip.Addr{ips("2001:db8::5", "10.0.0.5")},
			want: []Group{{Key: "10.0.0.5", Members: ips("10.0.0.5", "2001:db8::5")}}},
		{name: "shared IP joins services", sets: [][]netip.Addr{ips("10.0.0.1"), ips("10.0.0.1"), ips("10.0.0.3")},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1")}, {Key: "10.0.0.3", Members: ips("10.0.0.3")}}},
		{name: "duplicates within set", sets: [][]netip.Addr{ips("10.0.0.1", "10.0.0.1")},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1")}}},
		{
			// Service 1 = {v4a, v6a}, service 2 = {v4a}, service 3 =
			// {v6a, v4c}: v4c joins the group of v4a through v6a.
			name: "transitive chain",
			sets: [][]netip.Addr{ips("10.0.0.9", "2001:db8::9"), ips("10.0.0.9"), ips("2001:db8::9", "10.0.0.20"), ips("10.0.0.30")},
			// Keys sort as strings: "10.0.0.30" < "10.0.0.9".
			want: []Group{
				{Key: "10.0.0.30", Members: ips("10.0.0.30")},
				{Key: "10.0.0.9", Members: ips("10.0.0.9", "10.0.0.20", "2001:db8::9")},
			},
		},
		{
			name: "chain merges two existing groups",
			sets: [][]netip.Addr{ips("10.0.0.1", "10.0.0.2"), ips("10.0.0.3", "10.0.0.4"), ips("10.0.0.2", "10.0.0.3")},
			want: []Group{{Key: "10.0.0.1", Members: ips("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GroupIPs(tt.sets)
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("GroupIPs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGroupIPsOrderIndependent shuffles the sets and their members and
// expects the same groups.
func TestGroupIPsOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var sets [][]netip.Addr
	for i := range 300 {
		set := []netip.Addr{netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)})}
		if i%3 == 0 {
			set = append(set, netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i)))
		}
		if i%7 == 0 && i > 0 {
			set = append(set, netip.AddrFrom4([4]byte{10, 0, byte((i - 5) / 256), byte(i - 5)}))
		}
		sets = append(sets, set)
	}
	want := GroupIPs(sets)
	for range 20 {
		rng.Shuffle(len(sets), func(i, j int) { sets[i], sets[j] = sets[j], sets[i] })
		for _, s := range sets {
			rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		}
		if diff := cmp.Diff(want, GroupIPs(sets), addrCmp); diff != "" {
			t.Fatalf("GroupIPs depends on order (-want +got):\n%s", diff)
		}
	}
}

// TestGroupIPsInvariants checks on random inputs that every set lands in
// exactly one group and every address appears once.
func TestGroupIPsInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var sets [][]netip.Addr
	for range 500 {
		n := rng.IntN(3) + 1
		var set []netip.Addr
		for range n {
			set = append(set, netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(250))}))
		}
		sets = append(sets, set)
	}
	groups := GroupIPs(sets)
	groupOf := map[netip.Addr]string{}
	for _, g := range groups {
		if g.Key != g.Members[0].String() {
			t.Errorf("group key %s is not its lowest member %s", g.Key, g.Members[0])
		}
		for _, m := range g.Members {
			if _, dup := groupOf[m]; dup {
				t.Errorf("address %s in two groups", m)
			}
			groupOf[m] = g.Key
		}
	}
	for _, set := range sets {
		for _, ip := range set {
			if groupOf[ip] != groupOf[set[0]] {
				t.Errorf("set %v split across groups", set)
			}
		}
	}
}

func BenchmarkGroupIPs1000Services(b *testing.B) {
	var sets [][]netip.Addr
	for i := range 1000 {
		sets = append(sets, []netip.Addr{
			netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)}),
			netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i)),
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		GroupIPs(sets)
	}
}
