package membership

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/memberlist"
)

func newIdle(t testing.TB) *Membership {
	t.Helper()
	m, err := New(Config{NodeName: "self", SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDelegateEvents: callbacks never block, even with nobody reading
// Changed, and Members reflects them.
func TestDelegateEvents(t *testing.T) {
	m := newIdle(t)
	d := &delegate{m: m}
	node := func(name string, ip string, meta []byte) *memberlist.Node {
		return &memberlist.Node{Name: name, Addr: net.ParseIP(ip), Port: 7946, Meta: meta}
	}
	for range 100 {
		d.NotifyJoin(node("b", "10.0.0.2", encodeMeta(nodeMeta{})))
	}
	d.NotifyJoin(node("a", "10.0.0.1", nil))
	d.NotifyUpdate(node("b", "10.0.0.2", encodeMeta(nodeMeta{Draining: true})))
	d.NotifyJoin(node("c", "10.0.0.3", []byte{1, 0}))
	d.NotifyLeave(node("c", "10.0.0.3", nil))
	want := []Member{
		{Name: "a", Addr: netip.MustParseAddrPort("10.0.0.1:7946")},
		{Name: "b", Addr: netip.MustParseAddrPort("10.0.0.2:7946"), Draining: true},
	}
	if diff := cmp.Diff(want, m.Members(), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	select {
	case <-m.Changed():
	default:
		t.Fatal("Changed not signalled")
	}
	select {
	case <-m.Changed():
		t.Fatal("Changed holds more than one signal")
	default:
	}
}

func TestNodeMeta(t *testing.T) {
	m := newIdle(t)
	d := &delegate{m: m}
	if got, _ := decodeMeta(d.NodeMeta(memberlist.MetaMaxSize)); got.Draining {
		t.Error("draining before SetDraining")
	}
	m.draining.Store(true)
	if got, _ := decodeMeta(d.NodeMeta(memberlist.MetaMaxSize)); !got.Draining {
		t.Error("not draining after the flag was set")
	}
	if got := d.NodeMeta(1); got != nil {
		t.Errorf("NodeMeta(1) = %v, want nil (over the limit)", got)
	}
}

// BenchmarkLeaveToSignal measures what memberlist's callback costs it and
// how soon the speaker's loop wakes: NotifyLeave until a goroutine blocked
// on Changed has received the signal.
func BenchmarkLeaveToSignal(b *testing.B) {
	m := newIdle(b)
	d := &delegate{m: m}
	n := &memberlist.Node{Name: "b", Addr: net.ParseIP("10.0.0.2"), Port: 7946}
	woke, stop := make(chan struct{}), make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-m.Changed():
				woke <- struct{}{}
			case <-stop:
				return
			}
		}
	}()
	for b.Loop() {
		d.NotifyLeave(n)
		<-woke
	}
}
