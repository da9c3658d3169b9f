package election

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func nodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("node-%02d", i)
	}
	return out
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	return out
}

func TestWinnerTable(t *testing.T) {
	three := []string{"node-a", "node-b", "node-c"}
	tests := []struct {
		name       string
		key        string
		candidates []string
		want       string
		wantOK     bool
	}{
		{name: "no candidates", key: "10.0.0.1", candidates: nil, want: "", wantOK: false},
		{name: "empty slice", key: "10.0.0.1", candidates: []string{}, want: "", wantOK: false},
		{name: "single", key: "10.0.0.1", candidates: []string{"only"}, want: "only", wantOK: true},
		{name: "duplicates of one", key: "10.0.0.1", candidates: []string{"x", "x"}, want: "x", wantOK: true},
		{name: "three v4", key: "10.0.0.1", candidates: three, want: Ranked("10.0.0.1", three)[0], wantOK: true},
		{name: "three v6", key: "2001:db8::1", candidates: three, want: Ranked("2001:db8::1", three)[0], wantOK: true},
		{name: "empty key", key: "", candidates: three, want: Ranked("", three)[0], wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Winner(tt.key, tt.candidates)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Winner(%q, %v) = %q, %v; want %q, %v", tt.key, tt.candidates, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestWinnerIsMaxScore checks Winner against a direct computation of the
// definition: the candidate with the largest SHA-256(node, 0, key).
func TestWinnerIsMaxScore(t *testing.T) {
	cands := nodes(7)
	for _, k := range keys(500) {
		want := cands[0]
		for _, c := range cands[1:] {
			if beats(scoreOf(c, k), c, scoreOf(want, k), want) {
				want = c
			}
		}
		if got, _ := Winner(k, cands); got != want {
			t.Fatalf("Winner(%q) = %q, want %q", k, got, want)
		}
	}
}

// TestStableValues pins a few results so a change of the hash input (which
// would move every IP in a running cluster during a rolling upgrade) is noticed.
func TestStableValues(t *testing.T) {
	cands := []string{"node-a", "node-b", "node-c", "node-d"}
	got := map[string][]string{}
	for _, k := range []string{"10.0.0.1", "10.0.0.2", "192.168.1.10", "2001:db8::1"} {
		got[k] = Ranked(k, cands)
	}
	want := goldenRanked
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ranked results changed (-want +got):\n%s", diff)
	}
}

func TestRankedTable(t *testing.T) {
	tests := []struct {
		name       string
		candidates []string
		want       int
	}{
		{name: "nil", candidates: nil, want: 0},
		{name: "one", candidates: []string{"a"}, want: 1},
		{name: "dedup", candidates: []string{"a", "b", "a", "b", "c"}, want: 3},
		{name: "many", candidates: nodes(50), want: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Ranked("10.1.2.3", tt.candidates)
			if len(got) != tt.want {
				t.Fatalf("len(Ranked) = %d, want %d (%v)", len(got), tt.want, got)
			}
			if len(got) > 0 {
				w, _ := Winner("10.1.2.3", tt.candidates)
				if got[0] != w {
					t.Errorf("Ranked[0] = %q, Winner = %q", got[0], w)
				}
			}
			if tt.candidates == nil && got != nil {
				t.Errorf("Ranked(nil) = %v, want nil", got)
			}
		})
	}
}

func TestRankedDoesNotModifyInput(t *testing.T) {
	in := []string{"c", "a", "b"}
	_ = Ranked("k", in)
	if diff := cmp.Diff([]string{"c", "a", "b"}, in); diff != "" {
		t.Errorf("input modified (-want +got):\n%s", diff)
	}
}

// TestRankedSuccessor checks that the second-ranked node is exactly the
// winner once the first leaves, which is what the speaker relies on.
func TestRankedSuccessor(t *testing.T) {
	cands := nodes(10)
	for _, k := range keys(1000) {
		r := Ranked(k, cands)
		rest := slices.DeleteFunc(slices.Clone(cands), func(n string) bool { return n == r[0] })
		if w, _ := Winner(k, rest); w != r[1] {
			t.Fatalf("key %s: successor %q, winner without %q is %q", k, r[1], r[0], w)
		}
	}
}

func TestOrderIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cands := nodes(12)
	for _, k := range keys(2000) {
		want := Ranked(k, cands)
		perm := slices.Clone(cands)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if diff := cmp.Diff(want, Ranked(k, perm)); diff != "" {
			t.Fatalf("key %s: Ranked depends on order (-want +got):\n%s", k, diff)
		}
		if w, _ := Winner(k, perm); w != want[0] {
			t.Fatalf("key %s: Winner(perm) = %q, want %q", k, w, want[0])
		}
	}
}

func TestRemoveNodeMovesOnlyItsKeys(t *testing.T) {
	cands := nodes(10)
	ks := keys(10000)
	for _, gone := range []string{"node-00", "node-04", "node-09"} {
		rest := slices.DeleteFunc(slices.Clone(cands), func(n string) bool { return n == gone })
		for _, k := range ks {
			before, _ := Winner(k, cands)
			after, _ := Winner(k, rest)
			if before != gone && after != before {
				t.Fatalf("removing %s moved key %s from %s to %s", gone, k, before, after)
			}
		}
	}
}

func TestAddNodeMovesKeysOnlyToIt(t *testing.T) {
	cands := nodes(10)
	ks := keys(10000)
	grown := append(slices.Clone(cands), "node-new")
	moved := 0
	for _, k := range ks {
		before, _ := Winner(k, cands)
		after, _ := Winner(k, grown)
		if after != before {
			moved++
			if after != "node-new" {
				t.Fatalf("adding node-new moved key %s from %s to %s", k, before, after)
			}
		}
	}
	// About 1/11 of the keys should move to the new node.
	if want := len(ks) / 11; moved < want*8/10 || moved > want*12/10 {
		t.Errorf("moved %d keys to the new node, want about %d", moved, want)
	}
}

func TestSpreadIsEven(t *testing.T) {
	const nNodes, nKeys = 10, 10000
	cands := nodes(nNodes)
	count := map[string]int{}
	for _, k := range keys(nKeys) {
		w, _ := Winner(k, cands)
		count[w]++
	}
	want := nKeys / nNodes
	for _, n := range cands {
		// The standard deviation is about 3% of the mean; 8% is well
		// beyond it, and the inputs are fixed, so this is deterministic.
		if got := count[n]; got < want*92/100 || got > want*108/100 {
			t.Errorf("%s owns %d keys, want %d ± 8%%", n, got, want)
		}
	}
	t.Logf("spread: %v", count)
}

func BenchmarkWinner100Nodes(b *testing.B) {
	cands := nodes(100)
	ks := keys(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Winner(ks[i&1023], cands)
		i++
	}
}

func BenchmarkRanked100Nodes(b *testing.B) {
	cands := nodes(100)
	b.ReportAllocs()
	for b.Loop() {
		Ranked("10.0.0.1", cands)
	}
}
