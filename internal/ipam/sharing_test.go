package ipam

import (
	"strings"
	"testing"
)

func TestSharing(t *testing.T) {
	p := setPools(pool("a", rng("10.0.0.1", "10.0.0.9"), rng("2001:db8::1", "2001:db8::9")))
	s := func(key, sk, bk string, ports ...Port) Request { return sharing(v4(key), sk, bk, ports...) }
	runScenarios(t, []scenario{
		{name: "compatible services share", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "k", "b", tcp(443)), "a: 10.0.0.1"),
			alloc(s("ns/s3", "k", "b", udp(80)), "a: 10.0.0.1"),
			stats("a", "v4 1/8 v6 0/9"),
		}},
		{name: "different sharing key", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "other", "b", tcp(443)), "a: 10.0.0.2"),
			alloc(asking(s("ns/s3", "other", "b", tcp(8080)), "10.0.0.1"), "ErrIPInUse"),
		}},
		{name: "different backend key", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "k", "c", tcp(443)), "a: 10.0.0.2"),
			alloc(asking(s("ns/s3", "k", "c", tcp(8080)), "10.0.0.1"), "ErrIPInUse"),
			alloc(asking(s("ns/s4", "k", "c", tcp(8080)), "10.0.0.2"), "a: 10.0.0.2"),
		}},
		{name: "overlapping port", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80), tcp(443)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "k", "b", tcp(443)), "a: 10.0.0.2"),
			alloc(s("ns/s3", "k", "b", Port{Protocol: "tcp", Port: 80}), "a: 10.0.0.2"),
			alloc(s("ns/s4", "k", "b", tcp(80), udp(443)), "a: 10.0.0.3"),
			alloc(asking(s("ns/s5", "k", "b", tcp(443)), "10.0.0.1"), "ErrIPInUse"),
		}},
		{name: "ports updated on resync", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "k", "b", tcp(81)), "a: 10.0.0.1"),
			alloc(s("ns/s1", "k", "b", tcp(82)), "a: 10.0.0.1"),
			alloc(s("ns/s3", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s4", "k", "b", tcp(82)), "a: 10.0.0.2"),
		}},
		{name: "no sharing key never shares", steps: []step{p,
			alloc(v4("ns/s1"), "a: 10.0.0.1"),
			alloc(asking(s("ns/s2", "k", "b", tcp(1)), "10.0.0.1"), "ErrIPInUse"),
			alloc(s("ns/s3", "k", "b", tcp(1)), "a: 10.0.0.2"),
			alloc(asking(v4("ns/s4"), "10.0.0.2"), "ErrIPInUse"),
		}},
		{name: "requested IP shared with compatible holders", steps: []step{p,
			alloc(asking(s("ns/s1", "k", "b", tcp(80)), "10.0.0.5"), "a: 10.0.0.5"),
			alloc(asking(s("ns/s2", "k", "b", tcp(81)), "10.0.0.5"), "a: 10.0.0.5"),
			alloc(s("ns/s3", "k", "b", tcp(82)), "a: 10.0.0.5"),
		}},
		{name: "last holder frees the address", steps: []step{p,
			alloc(s("ns/s1", "k", "b", tcp(80)), "a: 10.0.0.1"),
			alloc(s("ns/s2", "k", "b", tcp(81)), "a: 10.0.0.1"),
			release("ns/s1"),
			stats("a", "v4 1/8 v6 0/9"),
			alloc(v4("ns/x1"), "a: 10.0.0.2"),
			release("ns/s2"),
			stats("a", "v4 1/8 v6 0/9"),
			alloc(v4("ns/x2"), "a: 10.0.0.1"),
			get("ns/s2", "none"),
		}},
		{name: "shared address preferred over a fresh one in an earlier pool", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.9")), pool("b", rng("10.0.1.1", "10.0.1.9"))),
			alloc(inPool(s("ns/s1", "k", "b", tcp(80)), "b"), "b: 10.0.1.1"),
			alloc(s("ns/s2", "k", "b", tcp(81)), "b: 10.0.1.1"),
			alloc(s("ns/s3", "j", "b", tcp(81)), "a: 10.0.0.1"),
		}},
		{name: "shared address in a pool that does not admit the service", steps: []step{
			setPools(withPolicy(pool("prod", rng("10.0.0.1", "10.0.0.9")), Policy{Namespaces: []string{"prod"}}),
				pool("z", rng("10.0.1.1", "10.0.1.9"))),
			alloc(s("prod/s1", "k", "b", tcp(80)), "prod: 10.0.0.1"),
			alloc(s("dev/s2", "k", "b", tcp(81)), "z: 10.0.1.1"),
			alloc(asking(s("dev/s3", "k", "b", tcp(82)), "10.0.0.1"), "ErrPoolNotAllowed"),
		}},
		{name: "shared address in a manual pool is used only when named", steps: []step{
			setPools(manual(pool("m", rng("10.0.0.1", "10.0.0.9"))), pool("z", rng("10.0.1.1", "10.0.1.9"))),
			alloc(inPool(s("ns/s1", "k", "b", tcp(80)), "m"), "m: 10.0.0.1"),
			alloc(s("ns/s2", "k", "b", tcp(81)), "z: 10.0.1.1"),
			alloc(inPool(s("ns/s3", "k", "b", tcp(82)), "m"), "m: 10.0.0.1"),
		}},
		{name: "dual-stack sharing", steps: []step{p,
			alloc(sharing(dual("ns/s1", RequireDualStack), "k", "b", tcp(80)), "a: 10.0.0.1, 2001:db8::1"),
			alloc(sharing(dual("ns/s2", RequireDualStack, IPv6, IPv4), "k", "b", tcp(81)), "a: 2001:db8::1, 10.0.0.1"),
			alloc(sharing(v6("ns/s3"), "k", "b", tcp(82)), "a: 2001:db8::1"),
			alloc(sharing(dual("ns/s4", PreferDualStack), "k", "b", tcp(80)), "a: 10.0.0.2, 2001:db8::2"),
		}},
		{name: "prefer dual stack: a fresh dual pair beats a shared single address", steps: []step{
			setPools(pool("a4", rng("10.0.0.1", "10.0.0.9")), pool("b", rng("10.0.1.1", "10.0.1.9"), rng("2001:db8::1", "2001:db8::9"))),
			alloc(s("ns/s1", "k", "b", tcp(80)), "a4: 10.0.0.1"),
			alloc(sharing(dual("ns/s2", PreferDualStack), "k", "b", tcp(81)), "b: 10.0.1.1, 2001:db8::1"),
			alloc(sharing(dual("ns/s3", PreferDualStack), "k", "b", tcp(82)), "b: 10.0.1.1, 2001:db8::1"),
		}},
	})
}

func TestConflictMessages(t *testing.T) {
	tests := []struct {
		name  string
		first Request
		then  Request
		want  string
	}{
		{"different keys", sharing(v4("ns/a"), "k1", "b"), sharing(v4("ns/b"), "k2", "b"),
			`IP 10.0.0.1 of pool "p" is held by service ns/a, and the sharing keys differ ("k1" and "k2")`},
		{"different backends", sharing(v4("ns/a"), "k", "b1"), sharing(v4("ns/b"), "k", "b2"),
			`held by service ns/a, and the services select different backends ("b1" and "b2")`},
		{"port", sharing(v4("ns/a"), "k", "b", tcp(80)), sharing(v4("ns/b"), "k", "b", Port{"tcp", 80}),
			"held by service ns/a, and both use port TCP/80"},
		{"holder without key", v4("ns/a"), sharing(v4("ns/b"), "k", "b"), "service ns/a sets no sharing key"},
		{"requester without key", sharing(v4("ns/a"), "k", "b"), v4("ns/b"), "service ns/b sets no sharing key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			if err := a.SetPools([]Pool{pool("p", rng("10.0.0.1", "10.0.0.9"))}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Allocate(tc.first); err != nil {
				t.Fatal(err)
			}
			_, err := a.Allocate(asking(tc.then, "10.0.0.1"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "allocate an IP for service ns/b: requested IP") {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
