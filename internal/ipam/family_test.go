package ipam

import "testing"

func TestFamilies(t *testing.T) {
	mixed := pool("mixed", rng("10.0.0.1", "10.0.0.2"), rng("2001:db8::1", "2001:db8::2"))
	only4 := withPolicy(pool("a-only4", rng("10.1.0.1", "10.1.0.2")), Policy{Priority: 1})
	only6 := pool("only6", rng("2001:db8:6::1", "2001:db8:6::2"))
	dual2 := withPolicy(pool("dual2", rng("10.2.0.1", "10.2.0.1"), rng("2001:db8:2::1", "2001:db8:2::1")), Policy{Priority: 2})
	runScenarios(t, []scenario{
		{name: "single stack takes the first family", steps: []step{
			setPools(mixed),
			alloc(v6("ns/s1"), "mixed: 2001:db8::1"),
			alloc(dual("ns/s2", SingleStack, IPv6, IPv4), "mixed: 2001:db8::2"),
			alloc(dual("ns/s3", SingleStack, IPv6, IPv4), "ErrPoolExhausted"),
			alloc(v4("ns/s4"), "mixed: 10.0.0.1"),
		}},
		{name: "require dual stack: one pool, family order kept", steps: []step{
			setPools(mixed),
			alloc(dual("ns/s1", RequireDualStack), "mixed: 10.0.0.1, 2001:db8::1"),
			alloc(dual("ns/s2", RequireDualStack, IPv6, IPv4), "mixed: 2001:db8::2, 10.0.0.2"),
			alloc(dual("ns/s3", RequireDualStack), "ErrPoolExhausted"),
		}},
		{name: "require dual stack skips single-family pools", steps: []step{
			setPools(only4, only6, dual2),
			alloc(dual("ns/s1", RequireDualStack), "dual2: 10.2.0.1, 2001:db8:2::1"),
			alloc(dual("ns/s2", RequireDualStack), "ErrPoolExhausted"),
			alloc(v4("ns/s3"), "a-only4: 10.1.0.1"),
		}},
		{name: "require dual stack with no dual pool", steps: []step{
			setPools(only4, only6),
			alloc(dual("ns/s1", RequireDualStack), "ErrDualStackUnavailable"),
			alloc(inPool(dual("ns/s2", RequireDualStack), "a-only4"), "ErrDualStackUnavailable"),
		}},
		{name: "require dual stack with one family listed adds the other", steps: []step{
			setPools(mixed),
			alloc(dual("ns/s1", RequireDualStack, IPv6), "mixed: 2001:db8::1, 10.0.0.1"),
		}},
		{name: "require dual stack: a pool full in one family is skipped", steps: []step{
			setPools(mixed, dual2),
			alloc(v6("ns/x1"), "dual2: 2001:db8:2::1"),
			alloc(dual("ns/s1", RequireDualStack), "mixed: 10.0.0.1, 2001:db8::1"),
		}},
		{name: "prefer dual stack: a dual pool beats an earlier single-family pool", steps: []step{
			setPools(only4, dual2),
			alloc(dual("ns/s1", PreferDualStack), "dual2: 10.2.0.1, 2001:db8:2::1"),
			alloc(dual("ns/s2", PreferDualStack), "a-only4: 10.1.0.1"),
			alloc(dual("ns/s3", PreferDualStack, IPv6, IPv4), "a-only4: 10.1.0.2"),
			alloc(dual("ns/s4", PreferDualStack), "ErrPoolExhausted"),
		}},
		{name: "prefer dual stack falls back to the first family, then the second", steps: []step{
			setPools(only6, only4),
			alloc(dual("ns/s1", PreferDualStack), "a-only4: 10.1.0.1"),
			alloc(dual("ns/s2", PreferDualStack), "a-only4: 10.1.0.2"),
			alloc(dual("ns/s3", PreferDualStack), "only6: 2001:db8:6::1"),
		}},
		{name: "prefer dual stack with one family is single stack", steps: []step{
			setPools(mixed),
			alloc(dual("ns/s1", PreferDualStack, IPv6), "mixed: 2001:db8::1"),
		}},
		{name: "prefer dual stack with no matching family", steps: []step{
			setPools(only6),
			alloc(dual("ns/s1", PreferDualStack, IPv4), "ErrNoPool"),
		}},
		{name: "requested IP completes the other family from its pool", steps: []step{
			setPools(mixed, only4),
			alloc(asking(dual("ns/s1", RequireDualStack), "10.0.0.2"), "mixed: 10.0.0.2, 2001:db8::1"),
			alloc(asking(dual("ns/s2", PreferDualStack), "2001:db8::2"), "mixed: 10.0.0.1, 2001:db8::2"),
			alloc(asking(dual("ns/s3", RequireDualStack), "10.1.0.1"), "ErrDualStackUnavailable"),
			alloc(asking(dual("ns/s4", PreferDualStack), "10.1.0.1"), "a-only4: 10.1.0.1"),
			alloc(asking(dual("ns/s5", RequireDualStack), "10.1.0.2", "2001:db8::1"), "ErrMixedPools"),
		}},
		{name: "requested IP in a full family pool", steps: []step{
			setPools(mixed),
			alloc(v6("ns/x1"), "mixed: 2001:db8::1"),
			alloc(v6("ns/x2"), "mixed: 2001:db8::2"),
			alloc(asking(dual("ns/s1", RequireDualStack), "10.0.0.1"), "ErrPoolExhausted"),
			alloc(asking(dual("ns/s2", PreferDualStack), "10.0.0.1"), "mixed: 10.0.0.1"),
		}},
		{name: "requested IPs of both families", steps: []step{
			setPools(mixed),
			alloc(asking(dual("ns/s1", RequireDualStack, IPv6, IPv4), "10.0.0.2", "2001:db8::2"), "mixed: 2001:db8::2, 10.0.0.2"),
			alloc(asking(v4("ns/s2"), "2001:db8::1"), "ErrWrongFamily"),
			alloc(asking(dual("ns/s3", SingleStack), "2001:db8::1"), "ErrWrongFamily"),
		}},
		{name: "mixed pool stats", steps: []step{
			setPools(mixed),
			alloc(dual("ns/s1", RequireDualStack), "mixed: 10.0.0.1, 2001:db8::1"),
			alloc(v6("ns/s2"), "mixed: 2001:db8::2"),
			stats("mixed", "v4 1/1 v6 2/0"),
		}},
	})
}
