package ipam

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// explainSetup is the books every Explain case starts from: "small" full
// (held by ns/first under sharing key k, port TCP/80), "manual" not
// auto-assigned, "team" for namespace "team" only, "v6" IPv6 only.
func explainSetup(t *testing.T) *Allocator {
	t.Helper()
	a := New()
	err := a.SetPools([]Pool{
		pool("small", rng("192.0.2.10", "192.0.2.10")),
		manual(pool("manual", rng("198.51.100.0", "198.51.100.3"))),
		withPolicy(pool("team", rng("203.0.113.0", "203.0.113.3")), Policy{Namespaces: []string{"team"}}),
		pool("v6", rng("2001:db8::1", "2001:db8::2")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(fill(sharing(v4("ns/first"), "k", "", tcp(80)))); err != nil {
		t.Fatal(err)
	}
	return a
}

// verdictText renders verdicts as "pool: serves ips" or "pool: why [sentinel]".
func verdictText(vs []PoolVerdict) []string {
	var out []string
	for _, v := range vs {
		if v.Serves {
			out = append(out, fmt.Sprintf("%s: serves %v", v.Pool, v.IPs))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s [%s]", v.Pool, v.Why, errName(v.Err)))
	}
	return out
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
		want []string
	}{
		{"a plain IPv4 Service", v4("ns/second"), []string{
			`manual: autoAssign is off and the service names neither this pool nor one of its addresses [ErrNoPool]`,
			`small: pool "small" has no free IPv4 address: pool exhausted [ErrPoolExhausted]`,
			`team: pool "team" refuses the service: namespace "ns" is not among the pool's namespaces ["team"]: pool does not admit the service [ErrPoolNotAllowed]`,
			`v6: no eligible pool ["v6"] has IPv4 ranges: no eligible pool [ErrNoPool]`,
		}},
		{"the team's namespace", v4("team/x"), []string{
			`manual: autoAssign is off and the service names neither this pool nor one of its addresses [ErrNoPool]`,
			`small: pool "small" has no free IPv4 address: pool exhausted [ErrPoolExhausted]`,
			`team: serves [203.0.113.0]`,
			`v6: no eligible pool ["v6"] has IPv4 ranges: no eligible pool [ErrNoPool]`,
		}},
		{"a requested address held under the same key on the same port", asking(sharing(v4("ns/taken"), "k", "", tcp(80)), "192.0.2.10"), []string{
			`manual: the requested address 192.0.2.10 is not in this pool [ErrPoolMismatch]`,
			`small: requested IP 192.0.2.10 of pool "small" is held by service ns/first, and both use port TCP/80: address already in use [ErrIPInUse]`,
			`team: the requested address 192.0.2.10 is not in this pool [ErrPoolMismatch]`,
			`v6: the requested address 192.0.2.10 is not in this pool [ErrPoolMismatch]`,
		}},
		{"a sharer on another port shares the full pool", sharing(v4("ns/sharer"), "k", "", tcp(443)), []string{
			`manual: autoAssign is off and the service names neither this pool nor one of its addresses [ErrNoPool]`,
			`small: serves [192.0.2.10]`,
			`team: pool "team" refuses the service: namespace "ns" is not among the pool's namespaces ["team"]: pool does not admit the service [ErrPoolNotAllowed]`,
			`v6: no eligible pool ["v6"] has IPv4 ranges: no eligible pool [ErrNoPool]`,
		}},
		{"a sharer on the same port is told who holds the key's address", sharing(v4("ns/clash"), "k", "", tcp(80)), []string{
			`manual: autoAssign is off and the service names neither this pool nor one of its addresses [ErrNoPool]`,
			`small: pool "small" has no free IPv4 address: pool exhausted; address 192.0.2.10, held by service ns/first under the same sharing key, cannot be shared: both use port TCP/80 [ErrPoolExhausted]`,
			`team: pool "team" refuses the service: namespace "ns" is not among the pool's namespaces ["team"]: pool does not admit the service [ErrPoolNotAllowed]`,
			`v6: no eligible pool ["v6"] has IPv4 ranges: no eligible pool [ErrNoPool]`,
		}},
		{"a named pool", inPool(v4("ns/named"), "manual"), []string{
			`manual: serves [198.51.100.0]`,
			`small: the service asks for pool "manual" [ErrPoolMismatch]`,
			`team: the service asks for pool "manual" [ErrPoolMismatch]`,
			`v6: the service asks for pool "manual" [ErrPoolMismatch]`,
		}},
		{"the holder keeps its address", fill(sharing(v4("ns/first"), "k", "", tcp(80))), []string{
			`manual: autoAssign is off and the service names neither this pool nor one of its addresses [ErrNoPool]`,
			`small: serves [192.0.2.10]`,
			`team: pool "team" refuses the service: namespace "ns" is not among the pool's namespaces ["team"]: pool does not admit the service [ErrPoolNotAllowed]`,
			`v6: no eligible pool ["v6"] has IPv4 ranges: no eligible pool [ErrNoPool]`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := explainSetup(t)
			before, _ := a.Get("ns/first")
			vs, err := a.Explain(fill(tc.req))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, verdictText(vs)); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if after, _ := a.Get("ns/first"); show(after, nil) != show(before, nil) || a.Stats("small").AvailableIPv4 != 0 {
				t.Errorf("Explain changed the books: ns/first %s → %s", show(before, nil), show(after, nil))
			}
		})
	}
}

// TestTryAnswersAsAllocate: Try gives Allocate's answer and error, and
// changes nothing.
func TestTryAnswersAsAllocate(t *testing.T) {
	for _, req := range []Request{
		v4("ns/second"), v4("team/x"), inPool(v4("ns/n"), "manual"), inPool(v4("ns/n"), "nope"),
		asking(v4("ns/t"), "192.0.2.10"), sharing(v4("ns/s"), "k", "", tcp(443)), v6("ns/six"),
		fill(sharing(v4("ns/first"), "k", "", tcp(80))),
	} {
		req = fill(req)
		a := explainSetup(t)
		tried, terr := a.Try(req)
		again, aerr := a.Try(req)
		if show(tried, terr) != show(again, aerr) {
			t.Errorf("%s: Try changed the books: %s then %s", req.Key, show(tried, terr), show(again, aerr))
		}
		got, err := a.Allocate(req)
		if show(tried, terr) != show(got, err) || fmt.Sprint(terr) != fmt.Sprint(err) {
			t.Errorf("%s: Try %s, Allocate %s", req.Key, show(tried, terr), show(got, err))
		}
	}
}
