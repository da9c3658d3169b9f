package ipam

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetPoolsValidation(t *testing.T) {
	good := pool("a", rng("10.0.0.1", "10.0.0.4"))
	runScenarios(t, []scenario{
		{name: "bad configurations change nothing", steps: []step{
			setPools(good),
			alloc(v4("ns/s1"), "a: 10.0.0.1"),
			badPools("ErrInvalidConfig", good, good),
			badPools("ErrInvalidConfig", pool("", rng("10.0.1.1", "10.0.1.1"))),
			badPools("ErrInvalidConfig", pool("b", rng("10.0.1.1", "2001:db8::1"))),
			badPools("ErrInvalidConfig", pool("b", rng("10.0.1.9", "10.0.1.1"))),
			badPools("ErrInvalidConfig", pool("b", Range{First: ip("10.0.1.1")})),
			badPools("ErrInvalidConfig", pool("b", rng("fe80::1%eth0", "fe80::9%eth0"))),
			badPools("ErrInvalidConfig", good, pool("b", rng("10.0.0.4", "10.0.0.9"))),
			badPools("ErrInvalidConfig", pool("b", rng("::ffff:10.0.0.1", "::ffff:10.0.0.1")), good),
			alloc(v4("ns/s2"), "a: 10.0.0.2"),
			poolFor("10.0.0.4", "a"),
		}},
		{name: "a pool's own ranges may overlap and touch", steps: []step{
			setPools(pool("a", rng("10.0.0.5", "10.0.0.9"), rng("10.0.0.1", "10.0.0.6"), rng("10.0.0.10", "10.0.0.10"))),
			stats("a", "v4 0/10 v6 0/0"),
			alloc(asking(v4("ns/s1"), "10.0.0.10"), "a: 10.0.0.10"),
		}},
		{name: "pool for an address", steps: []step{
			setPools(pool("a", rng("10.0.0.1", "10.0.0.4")), pool("b", rng("2001:db8::", "2001:db8::ffff"), rng("10.0.0.5", "10.0.0.5"))),
			poolFor("10.0.0.1", "a"), poolFor("10.0.0.4", "a"), poolFor("10.0.0.5", "b"), poolFor("10.0.0.6", "none"),
			poolFor("::ffff:10.0.0.2", "a"), poolFor("2001:db8::77", "b"), poolFor("2001:db8::1:0", "none"),
			poolFor("0.0.0.0", "none"), poolFor("::", "none"),
			stats("nope", "v4 0/0 v6 0/0"),
		}},
	})
}

func TestAvoidBuggyIPs(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "skips .0 and .255", steps: []step{
			setPools(avoiding(pool("a", rng("10.0.0.254", "10.0.1.1"), rng("10.0.2.255", "10.0.3.0"), rng("10.0.4.255", "10.0.5.1")))),
			stats("a", "v4 0/3 v6 0/0"),
			alloc(v4("ns/s1"), "a: 10.0.0.254"),
			alloc(v4("ns/s2"), "a: 10.0.1.1"),
			alloc(v4("ns/s3"), "a: 10.0.5.1"),
			alloc(v4("ns/s4"), "ErrPoolExhausted"),
			alloc(asking(v4("ns/s5"), "10.0.0.255"), "ErrAvoidedIP"),
			release("ns/s2"),
			alloc(v4("ns/s6"), "a: 10.0.1.1"),
		}},
		{name: "only buggy addresses", steps: []step{
			setPools(avoiding(pool("a", rng("10.0.0.255", "10.0.1.0")))),
			stats("a", "v4 0/0 v6 0/0"),
			alloc(v4("ns/s1"), "ErrPoolExhausted"),
		}},
		{name: "IPv6 is unaffected", steps: []step{
			setPools(avoiding(pool("a", rng("2001:db8::ff", "2001:db8::100")))),
			alloc(v6("ns/s1"), "a: 2001:db8::ff"),
			alloc(v6("ns/s2"), "a: 2001:db8::100"),
		}},
		{name: "without the option .0 and .255 are handed out", steps: []step{
			setPools(pool("a", rng("10.0.0.255", "10.0.1.0"))),
			alloc(v4("ns/s1"), "a: 10.0.0.255"),
			alloc(v4("ns/s2"), "a: 10.0.1.0"),
		}},
		{name: "released addresses next to avoided ones", steps: []step{
			setPools(avoiding(pool("a", rng("10.0.0.253", "10.0.1.2")))),
			alloc(v4("ns/s1"), "a: 10.0.0.253"),
			alloc(v4("ns/s2"), "a: 10.0.0.254"),
			alloc(v4("ns/s3"), "a: 10.0.1.1"),
			alloc(v4("ns/s4"), "a: 10.0.1.2"),
			release("ns/s2"),
			release("ns/s3"),
			stats("a", "v4 2/2 v6 0/0"),
			alloc(v4("ns/s5"), "a: 10.0.0.254"),
			alloc(v4("ns/s6"), "a: 10.0.1.1"),
		}},
	})
}

func TestHugePools(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "IPv6 /64", steps: []step{
			setPools(pool("big", rng("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"))),
			stats("big", "v4 0/0 v6 0/9223372036854775807"),
			alloc(v6("ns/s1"), "big: 2001:db8::"),
			alloc(asking(v6("ns/s2"), "2001:db8::8000:0:0:0"), "big: 2001:db8:0:0:8000::"),
			alloc(asking(v6("ns/s3"), "2001:db8::ffff:ffff:ffff:ffff"), "big: 2001:db8::ffff:ffff:ffff:ffff"),
			alloc(v6("ns/s4"), "big: 2001:db8::1"),
			stats("big", "v4 0/0 v6 4/9223372036854775807"),
			release("ns/s1"),
			alloc(v6("ns/s5"), "big: 2001:db8::"),
		}},
		{name: "every address", steps: []step{
			setPools(avoiding(pool("all", rng("0.0.0.0", "255.255.255.255"), rng("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))),
			stats("all", "v4 0/4261412864 v6 0/9223372036854775807"),
			alloc(dual("ns/s1", RequireDualStack), "all: 0.0.0.1, ::"),
			alloc(asking(dual("ns/s2", RequireDualStack), "255.255.255.254", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
				"all: 255.255.255.254, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			release("ns/s2"),
			stats("all", "v4 1/4261412863 v6 1/9223372036854775807"),
		}},
	})
	if got := (u128{lo: 1}).int64Sat(); got != 1 {
		t.Errorf("int64Sat(1) = %d", got)
	}
	if got := maxU128.int64Sat(); got != math.MaxInt64 {
		t.Errorf("int64Sat(max) = %d", got)
	}
}

func TestFamilyHelpers(t *testing.T) {
	got := []string{
		IPv4.String(), IPv6.String(), Family(3).String(),
		FamilyOf(ip("10.0.0.1")).String(), FamilyOf(ip("::ffff:10.0.0.1")).String(), FamilyOf(ip("::1")).String(),
		SingleStack.String(), PreferDualStack.String(), RequireDualStack.String(), FamilyPolicy(5).String(),
	}
	want := []string{"IPv4", "IPv6", "Family(3)", "IPv4", "IPv4", "IPv6",
		"SingleStack", "PreferDualStack", "RequireDualStack", "FamilyPolicy(5)"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		a := ip(s)
		if b := fromU128(toU128(a), FamilyOf(a)); b != a {
			t.Errorf("round trip %s gave %s", a, b)
		}
	}
	if got := buggyCount(0, math.MaxUint32); got != 1<<25 {
		t.Errorf("buggyCount over all IPv4 = %d", got)
	}
}
