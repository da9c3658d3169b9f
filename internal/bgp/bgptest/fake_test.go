package bgptest

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/internal/bgp"
)

func peer(name, addr string) bgp.PeerConfig {
	return bgp.PeerConfig{Name: name, MyASN: 64512, PeerASN: 64513, Address: netip.MustParseAddr(addr)}
}

func TestFakeSessionsAndCounts(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	if err := f.SetPeers(ctx, []bgp.PeerConfig{peer("a", "10.0.0.1"), peer("b", "10.0.0.2"), peer("c", "fd00::3")}); err != nil {
		t.Fatal(err)
	}
	<-f.Changed()
	ch, err := f.SetPaths(ctx, []bgp.Path{
		{Prefix: netip.MustParsePrefix("192.0.2.1/32")},
		{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Peers: []string{"b"}},
		{Prefix: netip.MustParsePrefix("2001:db8::1/128")},
	})
	if err != nil || ch != (bgp.PathChanges{Announced: 3}) {
		t.Fatalf("SetPaths = %+v, %v; want 3 announced", ch, err)
	}
	f.SetState("a", bgp.StateEstablished, bgp.BFDDisabled)
	f.SetState("b", bgp.StateEstablished, bgp.BFDDisabled)
	f.SetState("c", bgp.StateEstablished, bgp.BFDDisabled)
	got := map[string]int{}
	for _, s := range f.Sessions() {
		got[s.Name] = s.PrefixesSent
	}
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 2, "c": 1}, got); diff != "" {
		t.Errorf("prefixes sent (-want +got):\n%s", diff)
	}
	if f.SetState("nope", bgp.StateIdle, bgp.BFDDisabled) {
		t.Error("SetState of an unknown session succeeded")
	}
}

func TestFakeValidationAndFailures(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	f.AutoEstablish = true
	bad := peer("bad", "10.0.0.9")
	bad.Name = ""
	err := f.SetPeers(ctx, []bgp.PeerConfig{peer("a", "10.0.0.1"), bad, peer("a", "10.0.0.3")})
	if !errors.Is(err, bgp.ErrInvalidConfig) {
		t.Fatalf("SetPeers error = %v, want ErrInvalidConfig", err)
	}
	if got := f.Sessions(); len(got) != 1 || got[0].State != bgp.StateEstablished {
		t.Fatalf("sessions = %+v, want a alone, established", got)
	}
	boom := errors.New("boom")
	f.FailNext(boom)
	if _, err := f.SetPaths(ctx, []bgp.Path{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}}); !errors.Is(err, boom) {
		t.Fatalf("SetPaths error = %v, want boom", err)
	}
	if len(f.Paths()) != 0 {
		t.Fatal("a failed SetPaths was applied")
	}
	if _, err := f.SetPaths(ctx, []bgp.Path{{Prefix: netip.MustParsePrefix("192.0.2.1/24")}}); err != nil {
		t.Fatal(err)
	}
	if ch, err := f.SetPaths(ctx, nil); err != nil || ch != (bgp.PathChanges{Withdrawn: 1}) {
		t.Fatalf("SetPaths(nil) = %+v, %v; want 1 withdrawn", ch, err)
	}
	if len(f.Paths()) != 0 || f.Calls() != 4 {
		t.Errorf("paths %v after delete, %d calls (want none, 4)", f.Paths(), f.Calls())
	}
}
