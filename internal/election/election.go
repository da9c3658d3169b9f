// Package election decides which node announces a service IP in L2 mode.
//
// It uses rendezvous (highest-random-weight) hashing: every candidate node
// gets a score for a key, computed from a stable hash of the node name and the
// key, and the node with the highest score wins. The result does not depend on
// the order of the candidates, removing a node only moves the keys that node
// owned, and adding a node only moves keys to the new node. Every node computes
// the same answer from the same member list, so no coordination is needed.
//
// Balance is the opt-in alternative: bounded-load placement of many groups
// at once, so that no node owns more than ceil(1.25·m/n) of m groups on n
// nodes, at the price of sometimes moving a group that its node did not
// lose (see Balance).
//
// The package is pure: it imports the standard library only, performs no I/O
// and keeps no state. All functions are safe for concurrent use.
package election

import (
	"bytes"
	"crypto/sha256"
	"slices"
)

// separator sits between node and key in the hashed input. Node names are
// DNS labels and keys are IP strings, so neither contains a NUL byte and the
// input is unambiguous.
const separator = 0

// score is a candidate's weight for one key: SHA-256 over node, separator and
// key. Scores compare as big-endian byte strings.
type score [sha256.Size]byte

// scoreOf computes the weight of node for key without heap allocation for
// ordinary name and key lengths.
func scoreOf(node, key string) score {
	var buf [128]byte
	b := append(buf[:0], node...)
	b = append(b, separator)
	b = append(b, key...)
	return sha256.Sum256(b)
}

// beats reports whether candidate a (with score sa) ranks before candidate b.
// Higher scores rank first; equal scores (only possible for equal inputs)
// rank by name, lower name first, so the order is total and deterministic.
func beats(sa score, a string, sb score, b string) bool {
	if c := bytes.Compare(sa[:], sb[:]); c != 0 {
		return c > 0
	}
	return a < b
}

// Winner returns the candidate that owns key: the one with the highest score.
// It returns false when candidates is empty. Duplicate names count once; the
// order of candidates does not matter.
func Winner(key string, candidates []string) (string, bool) {
	if len(candidates) == 0 {
		return "", false
	}
	best, bestScore := candidates[0], scoreOf(candidates[0], key)
	for _, c := range candidates[1:] {
		if s := scoreOf(c, key); beats(s, c, bestScore, best) {
			best, bestScore = c, s
		}
	}
	return best, true
}

// Ranked returns the distinct candidates in ownership order for key: the
// winner first, then the node that would win if the winner left, and so on.
// The speaker uses the second entry to know who takes over an IP. The input
// slice is not modified; the result is a new slice (nil for no candidates).
func Ranked(key string, candidates []string) []string {
	if len(candidates) == 0 {
		return nil
	}
	type ranked struct {
		name  string
		score score
	}
	rs := make([]ranked, 0, len(candidates))
	for _, c := range candidates {
		rs = append(rs, ranked{name: c, score: scoreOf(c, key)})
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		switch {
		case a.name == b.name:
			return 0
		case beats(a.score, a.name, b.score, b.name):
			return -1
		default:
			return 1
		}
	})
	out := make([]string, 0, len(rs))
	for i, r := range rs {
		if i > 0 && r.name == rs[i-1].name {
			continue
		}
		out = append(out, r.name)
	}
	return out
}
