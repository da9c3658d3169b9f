package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = ip(s)
	}
	return out
}

func rng(a, b string) Range { return Range{First: ip(a), Last: ip(b)} }

// labels is a test selector: it matches when every pair is present.
type labels map[string]string

func (l labels) Matches(m map[string]string) bool {
	for k, v := range l {
		if m[k] != v {
			return false
		}
	}
	return true
}

// pool builds an auto-assign pool.
func pool(name string, ranges ...Range) Pool {
	return Pool{Name: name, Ranges: ranges, AutoAssign: true}
}

func withPolicy(p Pool, pol Policy) Pool { p.Allocation = &pol; return p }
func manual(p Pool) Pool                 { p.AutoAssign = false; return p }
func avoiding(p Pool) Pool               { p.AvoidBuggyIPs = true; return p }

var sentinels = []error{
	ErrPoolExhausted, ErrIPInUse, ErrNotInAnyPool, ErrUnknownPool, ErrPoolNotAllowed,
	ErrWrongFamily, ErrDualStackUnavailable, ErrNoPool, ErrMixedPools, ErrPoolMismatch,
	ErrAvoidedIP, ErrInvalidRequest, ErrInvalidConfig, ErrReservedIP,
}

var sentinelNames = []string{
	"ErrPoolExhausted", "ErrIPInUse", "ErrNotInAnyPool", "ErrUnknownPool", "ErrPoolNotAllowed",
	"ErrWrongFamily", "ErrDualStackUnavailable", "ErrNoPool", "ErrMixedPools", "ErrPoolMismatch",
	"ErrAvoidedIP", "ErrInvalidRequest", "ErrInvalidConfig", "ErrReservedIP",
}

func errName(err error) string {
	for i, s := range sentinels {
		if errors.Is(err, s) {
			return sentinelNames[i]
		}
	}
	return "unexpected error: " + err.Error()
}

// show renders an outcome compactly: "pool: ip, ip", "none" or an error
// name.
func show(as Assignment, err error) string {
	if err != nil {
		return errName(err)
	}
	if len(as.IPs) == 0 {
		return "none"
	}
	s := make([]string, len(as.IPs))
	for i, a := range as.IPs {
		s[i] = a.String()
	}
	return as.Pool + ": " + strings.Join(s, ", ")
}

// step is one operation of a table test and its expected outcome.
type step struct {
	do   func(t *testing.T, a *Allocator) string
	want string
}

func setPools(pools ...Pool) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		if err := a.SetPools(pools); err != nil {
			return errName(err)
		}
		return "ok"
	}, want: "ok"}
}

func badPools(want string, pools ...Pool) step {
	s := setPools(pools...)
	s.want = want
	return s
}

// fill fills in the namespace from the key.
func fill(r Request) Request {
	if r.Namespace == "" {
		r.Namespace, _, _ = strings.Cut(r.Key, "/")
	}
	return r
}

func alloc(r Request, want string) step {
	return step{do: func(t *testing.T, a *Allocator) string {
		r := fill(r)
		as, err := a.Allocate(r)
		if err != nil && !strings.Contains(err.Error(), r.Key) {
			t.Errorf("error %q does not name service %s", err, r.Key)
		}
		got := show(as, err)
		if err == nil {
			g, ok := a.Get(r.Key)
			if !ok || show(g, nil) != got {
				t.Errorf("Get(%s) = %s after Allocate gave %s", r.Key, show(g, nil), got)
			}
		}
		return got
	}, want: want}
}

func assign(r Request, addrs []netip.Addr, want string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		return show(a.Assign(fill(r), addrs))
	}, want: want}
}

func release(key string) step {
	return step{do: func(_ *testing.T, a *Allocator) string { a.Release(key); return "ok" }, want: "ok"}
}

func get(key, want string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		as, ok := a.Get(key)
		if !ok {
			return "none"
		}
		return show(as, nil)
	}, want: want}
}

func stats(p, want string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		s := a.Stats(p)
		return fmt.Sprintf("v4 %d/%d v6 %d/%d", s.AssignedIPv4, s.AvailableIPv4, s.AssignedIPv6, s.AvailableIPv6)
	}, want: want}
}

func poolFor(addr, want string) step {
	return step{do: func(_ *testing.T, a *Allocator) string {
		if p, ok := a.PoolFor(ip(addr)); ok {
			return p
		}
		return "none"
	}, want: want}
}

type scenario struct {
	name  string
	steps []step
}

// runScenarios runs each scenario on a fresh allocator, checks the
// invariants after every step and compares all outcomes at once.
func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			var got, want []string
			for i, s := range tc.steps {
				got = append(got, fmt.Sprintf("%d: %s", i, s.do(t, a)))
				want = append(want, fmt.Sprintf("%d: %s", i, s.want))
				if err := checkInvariants(a); err != nil {
					t.Fatalf("after step %d: %v", i, err)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("outcomes (-want +got):\n%s", d)
			}
		})
	}
}

// v4 and the other request builders keep the tables short.
func v4(key string) Request { return Request{Key: key} }
func v6(key string) Request { return Request{Key: key, Families: []Family{IPv6}} }
func dual(key string, p FamilyPolicy, fams ...Family) Request {
	if len(fams) == 0 {
		fams = []Family{IPv4, IPv6}
	}
	return Request{Key: key, Families: fams, FamilyPolicy: p}
}
func inPool(r Request, p string) Request        { r.Pool = p; return r }
func asking(r Request, addrs ...string) Request { r.RequestedIPs = ips(addrs...); return r }
func sharing(r Request, key, backend string, ports ...Port) Request {
	r.SharingKey, r.BackendKey, r.Ports = key, backend, ports
	return r
}
func tcp(p int32) Port                       { return Port{Protocol: "TCP", Port: p} }
func udp(p int32) Port                       { return Port{Protocol: "UDP", Port: p} }
func labelled(r Request, l labels) Request   { r.Labels = l; return r }
func nsLabelled(r Request, l labels) Request { r.NamespaceLabels = l; return r }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
