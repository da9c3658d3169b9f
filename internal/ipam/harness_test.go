package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// chooser supplies the random decisions of a generated operation sequence:
// math/rand for the property test, fuzzer bytes for the fuzz test.
type chooser interface{ intn(n int) int }

// blocks are disjoint address blocks that generated pools draw from; they
// straddle .0/.255 boundaries to exercise AvoidBuggyIPs.
var blocks = []Range{
	rng("10.0.0.0", "10.0.0.7"),
	rng("10.0.0.250", "10.0.1.5"),
	rng("10.0.2.1", "10.0.2.3"),
	rng("10.0.3.255", "10.0.4.0"),
	rng("2001:db8::1", "2001:db8::6"),
	rng("2001:db8:1::fe", "2001:db8:1::101"),
}

// outside is an address in no block.
var outside = ip("192.0.2.1")

var poolNames = []string{"p0", "p1", "p2", "p3"}

func genPools(c chooser) []Pool {
	pools := make([]Pool, 1+c.intn(len(poolNames)))
	for i := range pools {
		pools[i] = Pool{Name: poolNames[i], AutoAssign: c.intn(4) != 0, AvoidBuggyIPs: c.intn(2) == 0}
		if c.intn(2) == 0 {
			pools[i].Allocation = genPolicy(c)
		}
	}
	for _, b := range blocks {
		if n := c.intn(len(pools) + 1); n < len(pools) {
			pools[n].Ranges = append(pools[n].Ranges, b)
		}
	}
	return pools
}

func genPolicy(c chooser) *Policy {
	p := &Policy{Priority: c.intn(3)}
	if c.intn(2) == 0 {
		p.Namespaces = []string{[]string{"a", "b"}[c.intn(2)]}
	}
	if c.intn(3) == 0 {
		p.ServiceSelectors = []Selector{labels{"tier": []string{"web", "db"}[c.intn(2)]}}
	}
	if c.intn(4) == 0 {
		p.NamespaceSelectors = []Selector{labels{"team": "red"}}
	}
	return p
}

// anyAddr picks an address of some block, or one outside every block.
func anyAddr(c chooser) netip.Addr {
	i := c.intn(len(blocks) + 1)
	if i == len(blocks) {
		return outside
	}
	b := blocks[i]
	span := int(toU128(b.Last).sub(toU128(b.First)).lo) + 1
	x := toU128(b.First)
	for range c.intn(span) {
		x = x.next()
	}
	return fromU128(x, FamilyOf(b.First))
}

func genRequest(c chooser) Request {
	ns := []string{"a", "b", "c"}[c.intn(3)]
	r := Request{
		Key:          fmt.Sprintf("%s/k%d", ns, c.intn(6)),
		Namespace:    ns,
		Families:     [][]Family{nil, {IPv4}, {IPv6}, {IPv4, IPv6}, {IPv6, IPv4}}[c.intn(5)],
		FamilyPolicy: FamilyPolicy(c.intn(3)),
		SharingKey:   []string{"", "x", "y"}[c.intn(3)],
		BackendKey:   []string{"", "b1"}[c.intn(2)],
		Labels:       map[string]string{"tier": []string{"web", "db"}[c.intn(2)]},
	}
	if c.intn(2) == 0 {
		r.NamespaceLabels = map[string]string{"team": "red"}
	}
	for _, p := range []Port{tcp(80), tcp(443), {Protocol: "udp", Port: 80}} {
		if c.intn(2) == 0 {
			r.Ports = append(r.Ports, p)
		}
	}
	if c.intn(6) == 0 {
		r.Pool = []string{"p0", "p1", "p2", "p3", "nope"}[c.intn(5)]
	}
	for range max(0, c.intn(6)-3) {
		r.RequestedIPs = append(r.RequestedIPs, anyAddr(c))
	}
	return r
}

// runOps applies n generated operations to a and to a twin, checking the
// invariants and the contracts of each call, and that the twin (fed the
// same calls, always taking the full decision path) agrees: results must
// depend neither on map order nor on the resync fast path.
func runOps(c chooser, n int) error {
	a, twin := New(), New()
	twin.slowOnly = true
	for i := range n {
		out, err := step1(c, a, twin)
		if err != nil {
			return fmt.Errorf("op %d (%s): %w", i, out, err)
		}
		if err := checkInvariants(a); err != nil {
			return fmt.Errorf("op %d (%s): %w", i, out, err)
		}
	}
	return nil
}

func step1(c chooser, a, twin *Allocator) (string, error) {
	switch c.intn(10) {
	case 0:
		pools := genPools(c)
		e1, e2 := a.SetPools(pools), twin.SetPools(pools)
		return fmt.Sprintf("SetPools(%d pools)", len(pools)), twinCheck(fmt.Sprint(e1), fmt.Sprint(e2))
	case 1:
		key := genRequest(c).Key
		a.Release(key)
		twin.Release(key)
		return "Release " + key, nil
	case 2:
		r := genRequest(c)
		addrs := []netip.Addr{anyAddr(c), anyAddr(c)}[:1+c.intn(2)]
		before, _ := a.Get(r.Key)
		got, err := a.Assign(r, addrs)
		g2, e2 := twin.Assign(r, addrs)
		desc := fmt.Sprintf("Assign %+v %v → %s", r, addrs, show(got, err))
		if e := twinCheck(show(got, err), show(g2, e2)); e != nil {
			return desc, e
		}
		return desc, checkOutcome(a, r, before, got, err, false)
	default:
		r := genRequest(c)
		before, _ := a.Get(r.Key)
		got, err := a.Allocate(r)
		g2, e2 := twin.Allocate(r)
		desc := fmt.Sprintf("Allocate %+v → %s", r, show(got, err))
		if e := twinCheck(show(got, err), show(g2, e2)); e != nil {
			return desc, e
		}
		if e := checkOutcome(a, r, before, got, err, true); e != nil {
			return desc, e
		}
		if err == nil {
			again, err := a.Allocate(r)
			twin.Allocate(r)
			if show(again, err) != show(got, nil) {
				return desc, fmt.Errorf("not idempotent: second call gave %s", show(again, err))
			}
		}
		return desc, nil
	}
}

func twinCheck(x, y string) error {
	if x != y {
		return fmt.Errorf("twin allocator disagrees: %s vs %s", x, y)
	}
	return nil
}

// checkOutcome checks the contract of one Allocate or Assign call.
func checkOutcome(a *Allocator, r Request, before, got Assignment, err error, allocate bool) error {
	held, ok := a.Get(r.Key)
	if err != nil {
		if ok && show(held, nil) != show(before, nil) {
			return fmt.Errorf("failed call changed the assignment from %s to %s", show(before, nil), show(held, nil))
		}
		if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) || !strings.Contains(err.Error(), r.Key) {
			return fmt.Errorf("error without sentinel or key: %v", err)
		}
		return nil
	}
	if !ok || show(held, nil) != show(got, nil) {
		return fmt.Errorf("Get gives %s", show(held, nil))
	}
	return checkAssignment(a, r, got, allocate)
}

func checkAssignment(a *Allocator, r Request, got Assignment, allocate bool) error {
	p := a.pools[got.Pool]
	rq, _ := prepare(r)
	if p == nil || !p.admits(rq) || len(got.IPs) == 0 || len(got.IPs) > 2 {
		return fmt.Errorf("assignment %s: pool missing, refusing or wrong size", show(got, nil))
	}
	var fams []Family
	for _, addr := range got.IPs {
		if lookup(a.index, addr) != p || !p.fams[FamilyOf(addr)].allocatable(toU128(addr)) {
			return fmt.Errorf("%s is not an allocatable address of pool %s", addr, p.name)
		}
		fams = append(fams, FamilyOf(addr))
	}
	want := rq.fams
	if !allocate {
		return nil
	}
	switch {
	case r.FamilyPolicy != PreferDualStack && !slices.Equal(fams, want):
		return fmt.Errorf("families %v, want %v", fams, want)
	case r.Pool != "" && got.Pool != r.Pool:
		return fmt.Errorf("pool %s, requested %s", got.Pool, r.Pool)
	}
	for _, q := range r.RequestedIPs {
		if !slices.Contains(got.IPs, q.Unmap()) {
			return fmt.Errorf("requested %s missing", q)
		}
	}
	return nil
}
