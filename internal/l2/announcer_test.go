package l2_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/l2/l2test"
)

const (
	nodeMAC   = "02:00:00:00:00:0a"
	peerMAC   = "02:00:00:00:00:0b"
	clientMAC = "02:00:00:00:00:01"
)

var (
	svc4    = netip.MustParseAddr("10.0.0.100")
	svc6    = netip.MustParseAddr("fd00::100")
	client4 = netip.MustParseAddr("10.0.0.1")
	client6 = netip.MustParseAddr("fd00::1")
	nodeLL  = netip.MustParseAddr("fe80::a")
)

// node is an Announcer on a fake host whose eth0 is on network n.
type node struct {
	a    *l2.Announcer
	host *l2test.Host
	stop func()
}

func eth0(mac string) l2.Link {
	return l2test.EthernetLink("eth0", 2, mac, "10.0.0.2/24", "fe80::a/64", "fd00::2/64")
}

func startNode(t *testing.T, n *l2test.Network, mac string, links ...l2.Link) *node {
	t.Helper()
	h := l2test.NewHost()
	if len(links) == 0 {
		links = []l2.Link{eth0(mac)}
	}
	h.SetLinks(links...)
	for _, l := range links {
		h.Attach(l.Name, n)
	}
	cfg := l2.DefaultConfig()
	cfg.Host = h
	a, err := l2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	nd := &node{a: a, host: h}
	nd.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			nd.stop()
		}
	})
	synctest.Wait()
	return nd
}

// summaries decodes the frames a tap has seen so far.
func summaries(tap *l2test.Tap) []l2test.Frame {
	var out []l2test.Frame
	for _, b := range tap.Drain() {
		out = append(out, l2test.Decode(b))
	}
	return out
}

func gratuitous4(mac string) []l2test.Frame {
	return sortFrames([]l2test.Frame{
		{Kind: "arp-request", EthSrc: mac, EthDst: "ff:ff:ff:ff:ff:ff", IP: svc4, TargetIP: svc4, MAC: mac},
		{Kind: "arp-reply", EthSrc: mac, EthDst: "ff:ff:ff:ff:ff:ff", IP: svc4, TargetIP: svc4, MAC: mac},
	})
}

func unsolicited6(mac string) l2test.Frame {
	return l2test.Frame{Kind: "na", EthSrc: mac, EthDst: "33:33:00:00:00:01", IP: svc6,
		TargetIP: netip.MustParseAddr("ff02::1"), MAC: mac, Override: true, HopLimit: 255}
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func sortFrames(fs []l2test.Frame) []l2test.Frame {
	slices.SortFunc(fs, func(a, b l2test.Frame) int {
		if c := a.IP.Compare(b.IP); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return fs
}

func TestTakeoverBurstAndRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		start := time.Now()
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil, svc6: nil})
		synctest.Wait()

		one := sortFrames(append(gratuitous4(nodeMAC), unsolicited6(nodeMAC)))
		// Burst at +0, +0.5 s, +2 s, +5 s, then refreshes every 30 s.
		for _, at := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 35 * time.Second, 65 * time.Second} {
			time.Sleep(at - time.Since(start))
			synctest.Wait()
			if diff := cmp.Diff(one, sortFrames(summaries(tap)), addrCmp); diff != "" {
				t.Fatalf("frames at +%v (-want +got):\n%s", at, diff)
			}
		}
		st := nd.a.Stats().Interfaces["eth0"]
		if st.ARPGratuitous != 6 || st.NDPUnsolicited != 6 {
			t.Errorf("stats = %+v, want 6 gratuitous of each", st)
		}
		if diff := cmp.Diff([]netip.Addr{netip.MustParseAddr("ff02::1:ff00:100")}, nd.host.Groups("eth0"), addrCmp); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
	})
}

func TestReannounceRepeatsTheBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil, svc6: nil})
		time.Sleep(10 * time.Second) // past the takeover burst
		synctest.Wait()
		summaries(tap)

		start := time.Now()
		nd.a.Reannounce()
		synctest.Wait()
		one := sortFrames(append(gratuitous4(nodeMAC), unsolicited6(nodeMAC)))
		for _, at := range []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
			time.Sleep(at - time.Since(start))
			synctest.Wait()
			if diff := cmp.Diff(one, sortFrames(summaries(tap)), addrCmp); diff != "" {
				t.Fatalf("frames at +%v after Reannounce (-want +got):\n%s", at, diff)
			}
		}
		// Then the refresh, 30 s after the end of the new burst.
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := summaries(tap); len(got) != 0 {
			t.Errorf("frames before the refresh: %+v", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(one, sortFrames(summaries(tap)), addrCmp); diff != "" {
			t.Fatalf("refresh (-want +got):\n%s", diff)
		}
	})
}

func TestReannounceWithoutAnnouncementsSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		nd.a.Reannounce()
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if got := summaries(tap); len(got) != 0 {
			t.Errorf("frames: %+v", got)
		}
	})
}

func TestAnswersAndGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil, svc6: {"eth0"}})
		synctest.Wait()
		tap.Drain()

		ask := func() []l2test.Frame {
			tap.Send(l2test.ARPRequest(clientMAC, client4, svc4))
			tap.Send(l2test.NeighborSolicitation(clientMAC, client6, netip.MustParseAddr("ff02::1:ff00:100"), svc6, "", 255))
			tap.Send(l2test.NeighborSolicitation(clientMAC, client6, svc6, svc6, nodeMAC, 255)) // NUD probe
			synctest.Wait()
			return sortFrames(summaries(tap))
		}
		reply6 := l2test.Frame{Kind: "na", EthSrc: nodeMAC, EthDst: clientMAC, IP: svc6, TargetIP: client6,
			MAC: nodeMAC, Solicited: true, Override: true, HopLimit: 255}
		want := sortFrames([]l2test.Frame{
			{Kind: "arp-reply", EthSrc: nodeMAC, EthDst: clientMAC, IP: svc4, TargetIP: client4, MAC: nodeMAC},
			reply6, reply6,
		})
		if diff := cmp.Diff(want, ask(), addrCmp); diff != "" {
			t.Errorf("answers (-want +got):\n%s", diff)
		}

		nd.a.SetAnnouncements(nil)
		synctest.Wait()
		if got := ask(); len(got) != 0 {
			t.Errorf("answers after giving up: %+v", got)
		}
		if g := nd.host.Groups("eth0"); len(g) != 0 {
			t.Errorf("groups after giving up: %v", g)
		}
		st := nd.a.Stats().Interfaces["eth0"]
		if st.ARPAnswered != 1 || st.NDPAnswered != 2 {
			t.Errorf("stats = %+v, want 1 ARP and 2 NDP answers", st)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := summaries(tap); len(got) != 0 {
			t.Errorf("frames after giving up: %+v", got)
		}
	})
}

func TestForeignSightings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		watched := netip.MustParseAddr("10.0.0.101")
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc6: nil})
		nd.a.SetWatched([]netip.Addr{watched})
		synctest.Wait()

		tap.Send(l2test.GratuitousARP(peerMAC, watched))
		tap.Send(l2test.UnsolicitedNA(peerMAC, netip.MustParseAddr("fe80::b"), svc6))
		tap.Send(l2test.GratuitousARP(peerMAC, netip.MustParseAddr("10.0.0.222"))) // not tracked
		tap.Send(l2test.GratuitousARP(nodeMAC, watched))                           // our own
		synctest.Wait()

		var got []l2.ForeignSighting
		for len(nd.a.Foreign()) > 0 {
			got = append(got, <-nd.a.Foreign())
		}
		mac := l2test.Decode(l2test.GratuitousARP(peerMAC, watched)).EthSrc
		want := []l2.ForeignSighting{
			{IP: watched, Interface: "eth0", Protocol: l2.ProtocolARP},
			{IP: svc6, Interface: "eth0", Protocol: l2.ProtocolNDP},
		}
		for i := range got {
			if got[i].MAC.String() != mac {
				t.Errorf("sighting %d MAC = %s, want %s", i, got[i].MAC, mac)
			}
			got[i].MAC = nil
		}
		// The ARP and NDP readers run concurrently: order by IP.
		slices.SortFunc(got, func(a, b l2.ForeignSighting) int { return a.IP.Compare(b.IP) })
		if diff := cmp.Diff(want, got, addrCmp); diff != "" {
			t.Errorf("sightings (-want +got):\n%s", diff)
		}
		if n := nd.a.Stats().Interfaces["eth0"].ForeignSightings; n != 2 {
			t.Errorf("ForeignSightings = %d, want 2", n)
		}
	})
}

// TestTwoAnnouncersSeeEachOther is the split-brain case: both nodes announce
// the same IP and each reports the other.
func TestTwoAnnouncersSeeEachOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		a := startNode(t, netw, nodeMAC)
		b := startNode(t, netw, peerMAC)
		a.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil})
		synctest.Wait()
		b.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil})
		// a sees b's first announcement at once; b sees a's next one,
		// 0.5 s into a's burst.
		time.Sleep(time.Second)
		synctest.Wait()
		for _, c := range []struct {
			n     *node
			other string
		}{{a, peerMAC}, {b, nodeMAC}} {
			select {
			case s := <-c.n.a.Foreign():
				if s.IP != svc4 || s.MAC.String() != c.other {
					t.Errorf("sighting %+v, want %s at %s", s, svc4, c.other)
				}
			default:
				t.Errorf("no sighting of %s", c.other)
			}
		}
	})
}

func TestInterfaceChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		docker := l2test.EthernetLink("docker0", 3, "02:00:00:00:00:0c", "172.17.0.1/16")
		slave := l2test.EthernetLink("eth1", 4, "02:00:00:00:00:0d")
		slave.HasMaster = true
		nd := startNode(t, netw, nodeMAC, eth0(nodeMAC), docker, slave)
		<-nd.a.Changed()
		names := func() []string {
			var out []string
			for _, i := range nd.a.Interfaces() {
				out = append(out, i.Name)
			}
			return out
		}
		if diff := cmp.Diff([]string{"eth0"}, names()); diff != "" {
			t.Fatalf("interfaces (-want +got):\n%s", diff)
		}
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil})
		synctest.Wait()
		for _, f := range summaries(tap) {
			if f.EthSrc != nodeMAC {
				t.Errorf("frame from %s, want only %s (eth0)", f.EthSrc, nodeMAC)
			}
		}

		down := eth0(nodeMAC)
		down.Flags &^= net.FlagUp
		nd.host.SetLinks(down, docker, slave)
		synctest.Wait()
		<-nd.a.Changed()
		if got := names(); len(got) != 0 {
			t.Fatalf("interfaces while eth0 is down: %v", got)
		}
		tap.Send(l2test.ARPRequest(clientMAC, client4, svc4))
		synctest.Wait()
		if got := summaries(tap); len(got) != 0 {
			t.Errorf("frames while eth0 is down: %+v", got)
		}

		nd.host.SetLinks(eth0(nodeMAC), docker, slave)
		synctest.Wait()
		<-nd.a.Changed()
		// Back up: a new burst redirects clients at once.
		if diff := cmp.Diff(gratuitous4(nodeMAC), sortFrames(summaries(tap)), addrCmp); diff != "" {
			t.Errorf("frames after eth0 came back (-want +got):\n%s", diff)
		}
	})
}

func TestListenFailureIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		h := l2test.NewHost()
		h.SetLinks(eth0(nodeMAC))
		h.Attach("eth0", netw)
		h.FailListen("eth0", errors.New("EPERM"))
		cfg := l2.DefaultConfig()
		cfg.Host = h
		a, err := l2.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		a.SetAnnouncements(map[netip.Addr][]string{svc4: nil})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = a.Run(ctx) }()
		synctest.Wait()
		if got := summaries(tap); len(got) != 0 {
			t.Fatalf("frames while listen fails: %+v", got)
		}
		h.FailListen("eth0", nil)
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(gratuitous4(nodeMAC), sortFrames(summaries(tap)), addrCmp); diff != "" {
			t.Errorf("frames after retry (-want +got):\n%s", diff)
		}
		cancel()
		synctest.Wait()
	})
}

func TestBrokenConnectionIsReopened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netw := l2test.NewNetwork()
		tap := netw.Tap()
		nd := startNode(t, netw, nodeMAC)
		nd.a.SetAnnouncements(map[netip.Addr][]string{svc4: nil})
		time.Sleep(10 * time.Second) // past the burst
		synctest.Wait()
		tap.Drain()
		listens := nd.host.Listens()

		nd.host.Break("eth0")
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := nd.host.Listens(); got != listens+2 {
			t.Errorf("listens = %d, want %d (ARP and NDP reopened)", got, listens+2)
		}
		if diff := cmp.Diff(gratuitous4(nodeMAC), sortFrames(summaries(tap)), addrCmp); diff != "" {
			t.Errorf("frames after reopening (-want +got):\n%s", diff)
		}
		tap.Send(l2test.ARPRequest(clientMAC, client4, svc4))
		synctest.Wait()
		if got := summaries(tap); len(got) != 1 || got[0].Kind != "arp-reply" {
			t.Errorf("answers after reopening: %+v", got)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := l2.New(l2.Config{ExcludeInterfaces: []string{"["}}); err == nil {
		t.Error("New accepted a malformed pattern")
	}
	if _, err := l2.New(l2.Config{RefreshInterval: -time.Second}); err == nil {
		t.Error("New accepted a negative refresh interval")
	}
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := l2.DefaultConfig()
		cfg.Host = l2test.NewHost()
		a, err := l2.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		synctest.Wait()
		if err := a.Run(ctx); !errors.Is(err, l2.ErrAlreadyRunning) {
			t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestListedAfterTheFirstRead: Listed tells "no usable interface" apart
// from "not read yet".
func TestListedAfterTheFirstRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := l2test.NewHost()
		down := eth0(nodeMAC)
		down.Flags &^= net.FlagUp
		h.SetLinks(down)
		cfg := l2.DefaultConfig()
		cfg.Host = h
		a, err := l2.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Listed():
			t.Fatal("Listed closed before Run")
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = a.Run(ctx) }()
		<-a.Listed()
		if got := a.Interfaces(); len(got) != 0 {
			t.Errorf("interfaces %+v, want none (eth0 is down)", got)
		}
	})
}
