package ipam

import (
	"errors"
	"fmt"
	"maps"
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

// run is the state of one generated operation sequence.
type run struct {
	c       chooser
	a, twin *Allocator
	cfg     []Pool             // the last configuration applied
	last    map[string]Request // the last request of each key that holds something
}

// runOps applies n generated operations to an allocator and to a twin,
// checking the invariants and the contracts of each call, and that the
// twin (fed the same calls, always taking the full decision path) agrees:
// results must depend neither on map order nor on the resync fast path.
func runOps(c chooser, n int) error {
	a, twin := New(), New()
	twin.slowOnly = true
	r := &run{c: c, a: a, twin: twin, last: map[string]Request{}}
	for i := range n {
		out, err := r.step()
		if err != nil {
			return fmt.Errorf("op %d (%s): %w", i, out, err)
		}
		if err := checkInvariants(a); err != nil {
			return fmt.Errorf("op %d (%s): %w", i, out, err)
		}
	}
	return nil
}

func (r *run) step() (string, error) {
	switch r.c.intn(13) {
	case 12:
		return r.setReserved()
	case 0:
		return r.setPools(genPools(r.c))
	case 1:
		return r.harmlessChange()
	case 2:
		key := genRequest(r.c).Key
		r.a.Release(key)
		r.twin.Release(key)
		delete(r.last, key)
		return "Release " + key, nil
	case 3:
		return r.assign(genRequest(r.c))
	default:
		return r.allocate(genRequest(r.c))
	}
}

func (r *run) setPools(pools []Pool) (string, error) {
	e1, e2 := r.a.SetPools(pools), r.twin.SetPools(pools)
	if e1 == nil {
		r.cfg = pools
	}
	return fmt.Sprintf("SetPools(%d pools) → %v", len(pools), e1), twinCheck(fmt.Sprint(e1), fmt.Sprint(e2))
}

// setReserved reserves a few generated addresses, in both allocators.
func (r *run) setReserved() (string, error) {
	var res []Reservation
	for range r.c.intn(4) {
		res = append(res, Reservation{Addr: anyAddr(r.c), Reason: "test"})
	}
	e1, e2 := r.a.SetReserved(res), r.twin.SetReserved(res)
	desc := fmt.Sprintf("SetReserved(%v) → %v", res, e1)
	if e1 != nil {
		return desc, fmt.Errorf("unexpected error: %w", e1)
	}
	return desc, twinCheck(fmt.Sprint(e1), fmt.Sprint(e2))
}

func (r *run) assign(req Request) (string, error) {
	addrs := []netip.Addr{anyAddr(r.c), anyAddr(r.c)}[:1+r.c.intn(2)]
	before, _ := r.a.Get(req.Key)
	got, err := r.a.Assign(req, addrs)
	g2, e2 := r.twin.Assign(req, addrs)
	desc := fmt.Sprintf("Assign %+v %v → %s", req, addrs, show(got, err))
	r.remember(req)
	if e := twinCheck(show(got, err), show(g2, e2)); e != nil {
		return desc, e
	}
	return desc, checkOutcome(r.a, req, before, got, err, false)
}

func (r *run) allocate(req Request) (string, error) {
	before, _ := r.a.Get(req.Key)
	got, err := r.a.Allocate(req)
	g2, e2 := r.twin.Allocate(req)
	desc := fmt.Sprintf("Allocate %+v → %s", req, show(got, err))
	r.remember(req)
	if e := twinCheck(show(got, err), show(g2, e2)); e != nil {
		return desc, e
	}
	if e := checkOutcome(r.a, req, before, got, err, true); e != nil || err != nil {
		return desc, e
	}
	again, err := r.a.Allocate(req)
	r.twin.Allocate(req)
	if show(again, err) != show(got, nil) {
		return desc, fmt.Errorf("not idempotent: second call gave %s", show(again, err))
	}
	return desc, nil
}

func (r *run) remember(req Request) {
	if _, ok := r.a.Get(req.Key); ok {
		r.last[req.Key] = req
	} else {
		delete(r.last, req.Key)
	}
}

// harmlessChange settles every service, then changes priorities and
// AutoAssign and adds an unused block to a pool: no settled service may
// move (a PreferDualStack one may only gain its second family).
func (r *run) harmlessChange() (string, error) {
	keys := slices.Sorted(maps.Keys(r.last))
	settled := map[string]Assignment{}
	for _, k := range keys {
		if got, err := r.a.Allocate(r.last[k]); err == nil {
			settled[k] = got
		}
		r.twin.Allocate(r.last[k])
		r.remember(r.last[k])
	}
	if _, err := r.setPools(r.harmless()); err != nil {
		return "harmless SetPools", err
	}
	for _, k := range keys {
		before, ok := settled[k]
		if !ok {
			continue
		}
		got, err := r.a.Allocate(r.last[k])
		r.twin.Allocate(r.last[k])
		if err != nil || !keeps(got, before, r.last[k].FamilyPolicy) {
			return "harmless SetPools", fmt.Errorf("%s moved from %s to %s", k, show(before, nil), show(got, err))
		}
	}
	return "harmless SetPools", nil
}

// keeps reports whether after still holds every address of before.
func keeps(after, before Assignment, p FamilyPolicy) bool {
	if p != PreferDualStack || len(before.IPs) == 2 {
		return show(after, nil) == show(before, nil)
	}
	return after.Pool == before.Pool && slices.Contains(after.IPs, before.IPs[0])
}

func (r *run) harmless() []Pool {
	used := map[Range]bool{}
	pools := slices.Clone(r.cfg)
	for i := range pools {
		p := &pools[i]
		for _, rg := range p.Ranges {
			used[rg] = true
		}
		p.Ranges = slices.Clone(p.Ranges)
		p.AutoAssign = r.c.intn(2) == 0
		if p.Allocation != nil {
			pol := *p.Allocation
			pol.Priority = r.c.intn(4)
			p.Allocation = &pol
		}
	}
	if len(pools) > 0 {
		for _, b := range blocks {
			if !used[b] {
				p := &pools[r.c.intn(len(pools))]
				p.Ranges = append(p.Ranges, b)
				break
			}
		}
	}
	return pools
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
	if allocate {
		for _, addr := range got.IPs {
			if _, reserved := a.reserved[addr]; reserved && !slices.Contains(before.IPs, addr) {
				return fmt.Errorf("reserved %s handed out afresh (held before: %s)", addr, show(before, nil))
			}
		}
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
