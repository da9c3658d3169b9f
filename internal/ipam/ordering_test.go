package ipam

import "testing"

func TestPoolOrdering(t *testing.T) {
	prio := func(p Pool, n int) Pool { return withPolicy(p, Policy{Priority: n}) }
	runScenarios(t, []scenario{
		{name: "lowest free address of the only pool", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.3"))),
			alloc(v4("ns/s1"), "a: 10.0.0.1"),
			alloc(v4("ns/s2"), "a: 10.0.0.2"),
			alloc(v4("ns/s3"), "a: 10.0.0.3"),
			alloc(v4("ns/s4"), "ErrPoolExhausted"),
		}},
		{name: "pools without policy go by name", steps: []step{
			setPools(pool("b", rng("10.0.1.1", "10.0.1.1")), pool("a", rng("10.0.0.1", "10.0.0.1"))),
			alloc(v4("ns/s1"), "a: 10.0.0.1"),
			alloc(v4("ns/s2"), "b: 10.0.1.1"),
		}},
		{name: "priority beats name, zero sorts last, policy pools before others", steps: []step{
			setPools(
				pool("a-plain", rng("10.0.0.1", "10.0.0.1")),
				prio(pool("b-unset", rng("10.0.1.1", "10.0.1.1")), 0),
				prio(pool("c-prio5", rng("10.0.2.1", "10.0.2.1")), 5),
				prio(pool("d-prio1", rng("10.0.3.1", "10.0.3.1")), 1),
				prio(pool("e-prio5", rng("10.0.4.1", "10.0.4.1")), 5),
			),
			alloc(v4("ns/s1"), "d-prio1: 10.0.3.1"),
			alloc(v4("ns/s2"), "c-prio5: 10.0.2.1"),
			alloc(v4("ns/s3"), "e-prio5: 10.0.4.1"),
			alloc(v4("ns/s4"), "b-unset: 10.0.1.1"),
			alloc(v4("ns/s5"), "a-plain: 10.0.0.1"),
			alloc(v4("ns/s6"), "ErrPoolExhausted"),
		}},
		{name: "auto-assign off is never chosen automatically", steps: []step{
			setPools(manual(pool("a", rng("10.0.0.1", "10.0.0.1"))), pool("b", rng("10.0.1.1", "10.0.1.1"))),
			alloc(v4("ns/s1"), "b: 10.0.1.1"),
			alloc(v4("ns/s2"), "ErrPoolExhausted"),
			alloc(inPool(v4("ns/s3"), "a"), "a: 10.0.0.1"),
		}},
		{name: "only manual pools", steps: []step{
			setPools(manual(pool("a", rng("10.0.0.1", "10.0.0.1")))),
			alloc(v4("ns/s1"), "ErrNoPool"),
		}},
		{name: "no pools", steps: []step{
			alloc(v4("ns/s1"), "ErrNoPool"),
			setPools(),
			alloc(v4("ns/s1"), "ErrNoPool"),
		}},
		{name: "requested pool", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.1")), pool("b", rng("10.0.1.1", "10.0.1.2"))),
			alloc(inPool(v4("ns/s1"), "b"), "b: 10.0.1.1"),
			alloc(inPool(v4("ns/s2"), "b"), "b: 10.0.1.2"),
			alloc(inPool(v4("ns/s3"), "b"), "ErrPoolExhausted"),
			alloc(inPool(v4("ns/s4"), "zzz"), "ErrUnknownPool"),
			alloc(inPool(v6("ns/s5"), "a"), "ErrNoPool"),
			alloc(v4("ns/s6"), "a: 10.0.0.1"),
		}},
		{name: "requested IP", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.9")), manual(pool("m", rng("10.0.1.1", "10.0.1.9")))),
			alloc(asking(v4("ns/s1"), "10.0.0.5"), "a: 10.0.0.5"),
			alloc(asking(v4("ns/s2"), "10.0.1.5"), "m: 10.0.1.5"),
			alloc(asking(v4("ns/s3"), "10.0.0.5"), "ErrIPInUse"),
			alloc(asking(v4("ns/s4"), "10.9.0.5"), "ErrNotInAnyPool"),
			alloc(asking(v4("ns/s5"), "2001:db8::1"), "ErrWrongFamily"),
			alloc(inPool(asking(v4("ns/s6"), "10.0.0.6"), "m"), "ErrPoolMismatch"),
			alloc(inPool(asking(v4("ns/s7"), "10.0.0.6"), "a"), "a: 10.0.0.6"),
			alloc(asking(dual("ns/s8", RequireDualStack), "10.0.0.7", "10.0.0.8"), "ErrInvalidRequest"),
			alloc(asking(v4("ns/s9"), "::ffff:10.0.0.9"), "a: 10.0.0.9"),
			alloc(v4("ns/s10"), "a: 10.0.0.1"),
		}},
		{name: "requested IPs in two pools", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.9")), pool("b", rng("2001:db8::1", "2001:db8::9"))),
			alloc(asking(dual("ns/s1", RequireDualStack), "10.0.0.1", "2001:db8::1"), "ErrMixedPools"),
		}},
		{name: "malformed requests", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.9"))),
			alloc(Request{Key: "ns/s1", Families: []Family{IPv4, IPv4}, FamilyPolicy: PreferDualStack}, "ErrInvalidRequest"),
			alloc(Request{Key: "ns/s1", Families: []Family{7}}, "ErrInvalidRequest"),
			alloc(Request{Key: "ns/s1", FamilyPolicy: 9}, "ErrInvalidRequest"),
			alloc(Request{Key: "ns/s1", Families: []Family{IPv4, IPv6, IPv4}, FamilyPolicy: PreferDualStack}, "ErrInvalidRequest"),
			alloc(v6("ns/s1"), "ErrNoPool"),
		}},
	})
}

func TestEmptyKey(t *testing.T) {
	a := New()
	if _, err := a.Allocate(Request{}); errName(err) != "ErrInvalidRequest" {
		t.Errorf("Allocate with no key: %v", err)
	}
}

func TestPolicies(t *testing.T) {
	nsOnly := withPolicy(pool("ns-only", rng("10.0.0.1", "10.0.0.9")), Policy{Priority: 1, Namespaces: []string{"prod", "stage"}})
	nsSel := withPolicy(pool("ns-sel", rng("10.0.1.1", "10.0.1.9")), Policy{Priority: 2,
		NamespaceSelectors: []Selector{nil, labels{"team": "red"}, labels{"team": "blue"}}})
	svcSel := withPolicy(pool("svc-sel", rng("10.0.2.1", "10.0.2.9")), Policy{Priority: 3,
		ServiceSelectors: []Selector{labels{"tier": "web"}}})
	all3 := withPolicy(pool("all3", rng("10.0.3.1", "10.0.3.9")), Policy{
		Namespaces: []string{"prod"}, NamespaceSelectors: []Selector{labels{"team": "red"}},
		ServiceSelectors: []Selector{labels{"tier": "db"}}})
	open := pool("open", rng("10.0.9.1", "10.0.9.9"))
	cfg := setPools(nsOnly, nsSel, svcSel, all3, open)
	runScenarios(t, []scenario{
		{name: "namespace list", steps: []step{cfg,
			alloc(v4("prod/s1"), "ns-only: 10.0.0.1"),
			alloc(v4("stage/s1"), "ns-only: 10.0.0.2"),
			alloc(v4("dev/s1"), "open: 10.0.9.1"),
			alloc(inPool(v4("dev/s2"), "ns-only"), "ErrPoolNotAllowed"),
			alloc(asking(v4("dev/s3"), "10.0.0.5"), "ErrPoolNotAllowed"),
		}},
		{name: "namespace selectors: any one matches", steps: []step{cfg,
			alloc(nsLabelled(v4("dev/s1"), labels{"team": "blue"}), "ns-sel: 10.0.1.1"),
			alloc(nsLabelled(v4("dev/s2"), labels{"team": "green"}), "open: 10.0.9.1"),
			alloc(nsLabelled(inPool(v4("dev/s3"), "ns-sel"), labels{"team": "green"}), "ErrPoolNotAllowed"),
		}},
		{name: "service selectors", steps: []step{cfg,
			alloc(labelled(v4("dev/s1"), labels{"tier": "web"}), "svc-sel: 10.0.2.1"),
			alloc(labelled(v4("dev/s2"), labels{"tier": "db"}), "open: 10.0.9.1"),
		}},
		{name: "every list must match", steps: []step{cfg,
			// all3 has priority 0 so sorts after the others; make them refuse.
			alloc(nsLabelled(labelled(v4("prod/s1"), labels{"tier": "db"}), labels{"team": "red"}), "ns-only: 10.0.0.1"),
			alloc(nsLabelled(labelled(inPool(v4("prod/s2"), "all3"), labels{"tier": "db"}), labels{"team": "red"}), "all3: 10.0.3.1"),
			alloc(nsLabelled(labelled(inPool(v4("prod/s3"), "all3"), labels{"tier": "web"}), labels{"team": "red"}), "ErrPoolNotAllowed"),
			alloc(nsLabelled(labelled(inPool(v4("dev/s4"), "all3"), labels{"tier": "db"}), labels{"team": "red"}), "ErrPoolNotAllowed"),
			alloc(nsLabelled(labelled(inPool(v4("prod/s5"), "all3"), labels{"tier": "db"}), labels{"team": "blue"}), "ErrPoolNotAllowed"),
		}},
		{name: "refusing policy pools and no open pool", steps: []step{
			setPools(nsOnly),
			alloc(v4("dev/s1"), "ErrNoPool"),
		}},
		{name: "policy pool with auto-assign off is skipped", steps: []step{
			setPools(manual(nsOnly), open),
			alloc(v4("prod/s1"), "open: 10.0.9.1"),
		}},
	})
}

func TestExhaustedManyPoolsMessage(t *testing.T) {
	a := New()
	var pools []Pool
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		pools = append(pools, pool(n, rng("10.0.0."+string(rune('1'+len(pools))), "10.0.0."+string(rune('1'+len(pools))))))
	}
	if err := a.SetPools(pools); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := a.Allocate(v4("ns/s" + string(rune('0'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Allocate(v4("ns/x"))
	want := `allocate an IP for service ns/x: all 5 eligible pools ["a", "b", "c" and 2 more] have no free IPv4 address: pool exhausted`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
