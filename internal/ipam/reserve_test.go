package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// reserve sets the reserved addresses, each with the reason "why <addr>".
func reserve(addrs ...string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		res := make([]Reservation, len(addrs))
		for i, s := range addrs {
			res[i] = Reservation{Addr: ip(s), Reason: "why " + s}
		}
		if err := a.SetReserved(res); err != nil {
			return errName(err)
		}
		return "ok"
	}, want: "ok"}
}

// holders lists who holds an address.
func holders(addr, want string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		return strings.Join(a.Holders(ip(addr)), ",")
	}, want: want}
}

func TestReserved(t *testing.T) {
	quad := pool("p", rng("10.0.0.0", "10.0.0.3"))
	runScenarios(t, []scenario{
		{"skipped by automatic allocation", []step{
			setPools(quad),
			reserve("10.0.0.0", "10.0.0.2"),
			stats("p", "v4 0/2 v6 0/0"),
			alloc(v4("a/a"), "p: 10.0.0.1"),
			alloc(v4("a/b"), "p: 10.0.0.3"),
			alloc(v4("a/c"), "ErrPoolExhausted"),
			stats("p", "v4 2/0 v6 0/0"),
		}},
		{"refused by name, with its reason", []step{
			setPools(quad),
			reserve("10.0.0.1"),
			alloc(asking(v4("a/a"), "10.0.0.1"), "ErrReservedIP"),
			get("a/a", "none"),
			reserve(),
			alloc(asking(v4("a/a"), "10.0.0.1"), "p: 10.0.0.1"),
		}},
		{"a held address stays with its holder", []step{
			setPools(quad),
			alloc(sharing(v4("a/a"), "k", "", tcp(80)), "p: 10.0.0.0"),
			alloc(asking(v4("a/n"), "10.0.0.1"), "p: 10.0.0.1"),
			reserve("10.0.0.0", "10.0.0.1"),
			holders("10.0.0.0", "a/a"),
			stats("p", "v4 2/2 v6 0/0"),
			alloc(sharing(v4("a/a"), "k", "", tcp(80)), "p: 10.0.0.0"),
			alloc(sharing(v4("a/a"), "k", "", tcp(81)), "p: 10.0.0.0"), // changed request: still kept
			alloc(asking(v4("a/n"), "10.0.0.1"), "p: 10.0.0.1"),        // asked by name, held before
			// A new sharer may not join it: that would hand it out again.
			alloc(sharing(v4("a/s"), "k", "", tcp(443)), "p: 10.0.0.2"),
			alloc(asking(sharing(v4("a/t"), "k", "", tcp(53)), "10.0.0.0"), "ErrReservedIP"),
			// Released, it does not come back to the free set.
			release("a/a"),
			holders("10.0.0.0", ""),
			alloc(v4("a/b"), "p: 10.0.0.3"),
			alloc(v4("a/c"), "ErrPoolExhausted"),
			stats("p", "v4 3/0 v6 0/0"),
			reserve("10.0.0.1"),
			stats("p", "v4 3/1 v6 0/0"),
			alloc(v4("a/c"), "p: 10.0.0.0"),
		}},
		{"restored from status", []step{
			setPools(quad),
			reserve("10.0.0.1"),
			assign(v4("a/a"), ips("10.0.0.1"), "p: 10.0.0.1"),
			alloc(v4("a/a"), "p: 10.0.0.1"),
			stats("p", "v4 1/3 v6 0/0"),
		}},
		{"takes effect when a pool comes to contain it", []step{
			reserve("10.0.1.0", "2001:db8::1"),
			setPools(pool("p", rng("10.0.1.0", "10.0.1.1"), rng("2001:db8::", "2001:db8::1"))),
			stats("p", "v4 0/1 v6 0/1"),
			alloc(v4("a/a"), "p: 10.0.1.1"),
			alloc(v6("a/b"), "p: 2001:db8::"),
			alloc(v6("a/c"), "ErrPoolExhausted"),
		}},
		{"survives range changes, held or not", []step{
			setPools(quad),
			alloc(v4("a/a"), "p: 10.0.0.0"),
			reserve("10.0.0.0", "10.0.0.1"),
			setPools(pool("p", rng("10.0.0.0", "10.0.0.4"))),
			stats("p", "v4 1/3 v6 0/0"),
			alloc(v4("a/b"), "p: 10.0.0.2"),
			release("a/a"),
			stats("p", "v4 1/2 v6 0/0"),
			setPools(pool("q", rng("10.0.0.0", "10.0.0.5"))),
			stats("q", "v4 1/3 v6 0/0"),
			alloc(v4("a/c"), "q: 10.0.0.3"),
		}},
		{"avoided addresses count once", []step{
			setPools(avoiding(pool("p", rng("10.0.0.254", "10.0.1.1")))),
			reserve("10.0.0.255", "10.0.1.0", "10.0.1.1"),
			stats("p", "v4 0/1 v6 0/0"),
			alloc(v4("a/a"), "p: 10.0.0.254"),
			alloc(v4("a/b"), "ErrPoolExhausted"),
		}},
		{"an invalid address changes nothing", []step{
			setPools(quad),
			reserve("10.0.0.0"),
			{do: func(_ *testing.T, a *Allocator) string {
				return errName(a.SetReserved([]Reservation{{Addr: ip("10.0.0.1")}, {}}))
			}, want: "ErrInvalidConfig"},
			alloc(v4("a/a"), "p: 10.0.0.1"),
		}},
	})
}

func TestReservedErrorNamesTheReason(t *testing.T) {
	a := New()
	if err := a.SetPools([]Pool{pool("p", rng("10.0.0.0", "10.0.0.3"))}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetReserved([]Reservation{{Addr: ip("10.0.0.2"), Reason: `InternalIP of Node "n1"`}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Allocate(fill(asking(v4("a/web"), "10.0.0.2")))
	want := `allocate an IP for service a/web: requested IP 10.0.0.2 of pool "p" is reserved: InternalIP of Node "n1": address reserved`
	if err == nil || err.Error() != want || !errors.Is(err, ErrReservedIP) {
		t.Errorf("error = %v, want %q", err, want)
	}
	if why, ok := a.Reserved(netip.MustParseAddr("::ffff:10.0.0.2")); !ok || why != `InternalIP of Node "n1"` {
		t.Errorf("Reserved = %q, %v", why, ok)
	}
}
