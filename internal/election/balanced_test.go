package election

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// randomCluster returns m distinct keys and n node names, both random.
func randomCluster(r *rand.Rand, m, n int) (keys, names []string) {
	seen := map[string]bool{}
	for len(keys) < m {
		k := fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for len(names) < n {
		name := fmt.Sprintf("node-%08x", r.Uint32())
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return keys, names
}

// sameCandidates builds one request per key, each with its own copy of
// names (as the speaker's plan does).
func sameCandidates(keys, names []string) []Request {
	reqs := make([]Request, len(keys))
	for i, k := range keys {
		reqs[i] = Request{Key: k, Candidates: slices.Clone(names)}
	}
	return reqs
}

// randomRequests builds m requests on n random nodes, each listing each
// node with probability keep.
func randomRequests(r *rand.Rand, m, n int, keep float64) []Request {
	keys, names := randomCluster(r, m, n)
	reqs := make([]Request, m)
	for i, k := range keys {
		reqs[i] = Request{Key: k, Candidates: slices.DeleteFunc(slices.Clone(names), func(string) bool { return r.Float64() >= keep })}
	}
	return reqs
}

// byKey runs Balance and returns the owner of each key.
func byKey(reqs []Request) map[string]string {
	out := map[string]string{}
	for i, o := range Balance(reqs) {
		out[reqs[i].Key] = o
	}
	return out
}

// rankedByScore is the definition of a request's ranking under Balance:
// distinct non-empty candidates by pairScore, highest first, ties by name.
func rankedByScore(key string, candidates []string) []string {
	type scored struct {
		name  string
		score uint64
	}
	var all []scored
	kh := hash64(key)
	for _, c := range slices.Compact(slices.Sorted(slices.Values(candidates))) {
		if c != "" {
			all = append(all, scored{c, pairScore(kh, hash64(c))})
		}
	}
	slices.SortStableFunc(all, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.name
	}
	return out
}

// testBounds computes every node's bound from its component, independently
// of the implementation: nodes are joined by the requests that list them.
func testBounds(reqs []Request) map[string]int {
	comp := map[string]int{} // node -> component id
	next := 0
	for _, r := range reqs {
		ids := map[int]bool{}
		for _, c := range r.Candidates {
			if id, ok := comp[c]; ok && c != "" {
				ids[id] = true
			}
		}
		for _, c := range r.Candidates {
			if c != "" {
				comp[c] = next
			}
		}
		for node, id := range comp {
			if ids[id] {
				comp[node] = next
			}
		}
		next++
	}
	groups, nodes := map[int]int{}, map[int]int{}
	for _, id := range comp {
		nodes[id]++
	}
	for _, r := range reqs {
		for _, c := range r.Candidates {
			if c != "" {
				groups[comp[c]]++
				break
			}
		}
	}
	out := map[string]int{}
	for node, id := range comp {
		out[node] = (5*groups[id] + 4*nodes[id] - 1) / (4 * nodes[id])
	}
	return out
}

// maxWithinBounds is the size of a maximum assignment of requests to
// candidates that keeps every node within its bound (augmenting paths).
func maxWithinBounds(reqs []Request, bounds map[string]int) int {
	holders := map[string][]int{}
	var try func(i int, seen map[string]bool) bool
	try = func(i int, seen map[string]bool) bool {
		for _, c := range reqs[i].Candidates {
			if c == "" || seen[c] {
				continue
			}
			seen[c] = true
			if len(holders[c]) < bounds[c] {
				holders[c] = append(holders[c], i)
				return true
			}
			for k, h := range holders[c] {
				if try(h, seen) {
					holders[c][k] = i
					return true
				}
			}
		}
		return false
	}
	n := 0
	for i := range reqs {
		if try(i, map[string]bool{}) {
			n++
		}
	}
	return n
}

// checkInvariants asserts what Balance guarantees for any input.
func checkInvariants(t *testing.T, reqs []Request, owners []string) {
	t.Helper()
	if len(owners) != len(reqs) {
		t.Fatalf("Balance returned %d owners for %d requests", len(owners), len(reqs))
	}
	load := map[string]int{}
	for i, o := range owners {
		ranked := rankedByScore(reqs[i].Key, reqs[i].Candidates)
		if len(ranked) == 0 {
			if o != "" {
				t.Fatalf("request %d without candidates got %q", i, o)
			}
			continue
		}
		if !slices.Contains(ranked, o) {
			t.Fatalf("request %d (%v) got %q, not a candidate", i, reqs[i], o)
		}
		load[o]++
	}
	bounds := testBounds(reqs)
	for i, o := range owners {
		// Every candidate ranked above the owner is full.
		for _, c := range rankedByScore(reqs[i].Key, reqs[i].Candidates) {
			if c == o {
				break
			}
			if load[c] < bounds[c] {
				t.Fatalf("request %s sits on %q below %q, which holds %d < bound %d", reqs[i].Key, o, c, load[c], bounds[c])
			}
		}
	}
	within, placeable := 0, 0
	for node, l := range load {
		within += min(l, bounds[node])
	}
	for _, r := range reqs {
		if len(rankedByScore(r.Key, r.Candidates)) > 0 {
			placeable++
		}
	}
	best := maxWithinBounds(reqs, bounds)
	if within != best {
		t.Fatalf("%d requests within their bound, a maximum assignment has %d", within, best)
	}
	if best == placeable {
		for node, l := range load {
			if l > bounds[node] {
				t.Fatalf("node %s holds %d > bound %d although every request fits", node, l, bounds[node])
			}
		}
	}
}

func TestBalanceTable(t *testing.T) {
	three := []string{"node-a", "node-b", "node-c"}
	tests := []struct {
		name string
		reqs []Request
		want []string
	}{
		{name: "nil", reqs: nil, want: []string{}},
		{name: "no candidates", reqs: []Request{{Key: "10.0.0.1"}}, want: []string{""}},
		{name: "only empty names", reqs: []Request{{Key: "10.0.0.1", Candidates: []string{"", ""}}}, want: []string{""}},
		{name: "single node", reqs: []Request{{Key: "10.0.0.1", Candidates: []string{"only"}}, {Key: "10.0.0.2", Candidates: []string{"only", "only"}}},
			want: []string{"only", "only"}},
		{name: "first choice under the bound", reqs: []Request{{Key: "10.0.0.1", Candidates: three}},
			want: []string{rankedByScore("10.0.0.1", three)[0]}},
		{name: "mixed", reqs: []Request{{Key: "10.0.0.1"}, {Key: "10.0.0.2", Candidates: []string{"", "x"}}}, want: []string{"", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Balance(tt.reqs)
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Balance (-want +got):\n%s", diff)
			}
			checkInvariants(t, tt.reqs, got)
		})
	}
}

// TestBalanceSpreadsThreeOnOneNode takes three keys whose first choice is
// the same of three nodes: rendezvous would put all three there, Balance
// keeps the two that node scores highest and moves the third.
func TestBalanceSpreadsThreeOnOneNode(t *testing.T) {
	three := []string{"node-a", "node-b", "node-c"}
	byFirst := map[string][]string{}
	var keys []string
	for i := 0; keys == nil; i++ {
		k := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		first := rankedByScore(k, three)[0]
		if byFirst[first] = append(byFirst[first], k); len(byFirst[first]) == 3 {
			keys = byFirst[first]
		}
	}
	got := byKey(sameCandidates(keys, three))
	first := rankedByScore(keys[0], three)[0]
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Compare(pairScore(hash64(b), hash64(first)), pairScore(hash64(a), hash64(first)))
	})
	want := map[string]string{keys[0]: first, keys[1]: first, keys[2]: rankedByScore(keys[2], three)[1]}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("Balance (-want +got):\n%s", diff)
	}
}

// TestBalanceStableValues pins results so that a change of the hash or of
// the rules (which would move groups during a rolling upgrade) is noticed.
// Twelve keys on three nodes: node-a is the first choice of six, one more
// than the bound of 5, and turns 10.0.0.2 away to its second choice. The
// values were checked against an independent computation (Python hashlib:
// SHA-256, MurmurHash3's fmix64, the rounds).
func TestBalanceStableValues(t *testing.T) {
	var keys []string
	for i := 1; i <= 12; i++ {
		keys = append(keys, fmt.Sprintf("10.0.0.%d", i))
	}
	got := byKey(sameCandidates(keys, []string{"node-a", "node-b", "node-c"}))
	want := map[string]string{
		"10.0.0.1": "node-a", "10.0.0.7": "node-a", "10.0.0.9": "node-a", "10.0.0.10": "node-a", "10.0.0.12": "node-a",
		"10.0.0.2": "node-b", "10.0.0.5": "node-b", "10.0.0.11": "node-b",
		"10.0.0.3": "node-c", "10.0.0.4": "node-c", "10.0.0.6": "node-c", "10.0.0.8": "node-c",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("Balance results changed (-want +got):\n%s", diff)
	}
	if first := rankedByScore("10.0.0.2", []string{"node-a", "node-b", "node-c"})[0]; first != "node-a" {
		t.Errorf("first choice of 10.0.0.2 is %s, want node-a", first)
	}
}

func TestBalanceBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 400 {
		n, m := 1+r.IntN(12), r.IntN(200)
		keys, names := randomCluster(r, m, n)
		owners := Balance(sameCandidates(keys, names))
		load := map[string]int{}
		for _, o := range owners {
			load[o]++
		}
		for node, l := range load {
			if l > bound(m, n) {
				t.Fatalf("trial %d: %s holds %d of %d groups on %d nodes, bound %d", trial, node, l, m, n, bound(m, n))
			}
		}
	}
}

// TestBalanceDifferentCandidates checks every guarantee on requests with
// differing candidate sets, where the bound cannot always hold.
func TestBalanceDifferentCandidates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		reqs := randomRequests(r, r.IntN(80), 1+r.IntN(10), 1.0/3)
		checkInvariants(t, reqs, Balance(reqs))
	}
}

// TestBalanceComponents: disjoint node sets are placed independently, each
// under its own bound.
func TestBalanceComponents(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	keys, names := randomCluster(r, 33, 6)
	reqs := append(sameCandidates(keys[:30], names[:3]), sameCandidates(keys[30:], names[3:])...)
	owners := Balance(reqs)
	checkInvariants(t, reqs, owners)
	load := map[string]int{}
	for _, o := range owners {
		load[o]++
	}
	for i, name := range names {
		if b := []int{13, 13, 13, 2, 2, 2}[i]; load[name] > b {
			t.Errorf("%s holds %d, bound of its component %d", name, load[name], b)
		}
	}
}

// TestBalanceOverflow: ten groups that only x and y may own, in a component
// of four nodes whose bound is 4, cannot all fit; the two left over go to
// the least-loaded of x and y, one each.
func TestBalanceOverflow(t *testing.T) {
	reqs := []Request{{Key: "10.0.1.1", Candidates: []string{"y", "z"}}, {Key: "10.0.1.2", Candidates: []string{"z", "w"}}}
	for i := range 10 {
		reqs = append(reqs, Request{Key: fmt.Sprintf("10.0.0.%d", i), Candidates: []string{"x", "y"}})
	}
	owners := Balance(reqs)
	checkInvariants(t, reqs, owners)
	load := map[string]int{}
	for _, o := range owners[2:] {
		load[o]++
	}
	if diff := gocmp.Diff(map[string]int{"x": 5, "y": 5}, load); diff != "" {
		t.Errorf("loads of the x/y groups (-want +got):\n%s", diff)
	}
}

// TestBalanceEqualKeys: requests that share a key are still placed
// independently of the input order. The key is one that ranks node a
// first, so all four ask a, which can keep two.
func TestBalanceEqualKeys(t *testing.T) {
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("10.0.0.%d", i); rankedByScore(k, []string{"a", "b", "c"})[0] == "a" {
			key = k
		}
	}
	reqs := []Request{
		{Key: key, Candidates: []string{"a", "b"}},
		{Key: key, Candidates: []string{"a"}},
		{Key: key, Candidates: []string{"c", "b", "a"}},
		{Key: key, Candidates: []string{"a", "c"}},
	}
	type placed struct{ Cands, Owner string }
	result := func(reqs []Request) []placed {
		var out []placed
		for i, o := range Balance(reqs) {
			out = append(out, placed{fmt.Sprint(slices.Sorted(slices.Values(reqs[i].Candidates))), o})
		}
		slices.SortFunc(out, func(a, b placed) int { return cmp.Or(cmp.Compare(a.Cands, b.Cands), cmp.Compare(a.Owner, b.Owner)) })
		return out
	}
	want := result(reqs)
	r := rand.New(rand.NewPCG(13, 14))
	for range 20 {
		r.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
		if diff := gocmp.Diff(want, result(reqs)); diff != "" {
			t.Fatalf("Balance depends on order (-want +got):\n%s", diff)
		}
	}
}

// TestBalanceAgreement: shuffling the requests and their candidates, and
// repeating candidates, changes nothing.
func TestBalanceAgreement(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		reqs := randomRequests(r, r.IntN(100), 1+r.IntN(10), 0.75)
		want := byKey(reqs)
		r.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
		for i := range reqs {
			c := append(reqs[i].Candidates, reqs[i].Candidates...)
			c = append(c, "")
			r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			reqs[i].Candidates = c
		}
		if diff := gocmp.Diff(want, byKey(reqs)); diff != "" {
			t.Fatalf("Balance depends on order (-want +got):\n%s", diff)
		}
	}
}

// TestBalanceIsRendezvousUnderBound: while no node is the first choice of
// more than the bound, every group sits on its first choice.
func TestBalanceIsRendezvousUnderBound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	under := 0
	for range 300 {
		n, m := 1+r.IntN(10), r.IntN(100)
		keys, names := randomCluster(r, m, n)
		got := byKey(sameCandidates(keys, names))
		first, count := map[string]string{}, map[string]int{}
		for _, k := range keys {
			first[k] = rankedByScore(k, names)[0]
			count[first[k]]++
		}
		if slices.Max(append(slices.Collect(maps.Values(count)), 0)) > bound(m, n) {
			continue
		}
		under++
		if diff := gocmp.Diff(first, got); diff != "" {
			t.Fatalf("%d groups on %d nodes within the bound, yet Balance differs from rendezvous (-want +got):\n%s", m, n, diff)
		}
	}
	if under < 100 {
		t.Errorf("only %d trials within the bound", under)
	}
}

func FuzzBalance(f *testing.F) {
	f.Add([]byte{3, 1, 7, 2, 7, 3, 7})
	f.Add([]byte{5, 1, 1, 2, 1, 3, 1, 4, 30, 5, 31})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := int(data[0]%8) + 1
		var reqs []Request
		for i := 1; i+1 < len(data) && len(reqs) < 40; i += 2 {
			req := Request{Key: fmt.Sprintf("10.0.%d.%d", data[i], len(reqs))}
			for b := range n {
				if data[i+1]>>b&1 == 1 {
					req.Candidates = append(req.Candidates, fmt.Sprintf("node-%d", b))
				}
			}
			reqs = append(reqs, req)
		}
		owners := Balance(reqs)
		checkInvariants(t, reqs, owners)
		rev := slices.Clone(reqs)
		slices.Reverse(rev)
		got := Balance(rev)
		slices.Reverse(got)
		if diff := gocmp.Diff(owners, got); diff != "" {
			t.Fatalf("Balance depends on order (-want +got):\n%s", diff)
		}
	})
}
