package ipam

import (
	"slices"
	"strconv"
	"strings"
)

// poolState is a configured pool with its free addresses.
type poolState struct {
	name       string
	autoAssign bool
	avoid      bool
	policy     *Policy // a private copy; nil admits every service
	fams       [2]famState
	rank       int  // index in Allocator.ranked; -1 when never auto-chosen
	fresh      bool // built by the running SetPools, waiting for its held addresses
	held       [2][]u128
	resv       [2][]u128 // like held: the unheld reserved addresses
}

// hasFamily reports whether the pool has ranges of f.
func (p *poolState) hasFamily(f Family) bool { return len(p.fams[f].ranges) > 0 }

// admits reports whether the pool's policy admits the service.
func (p *poolState) admits(r *request) bool { return p.refusal(r) == "" }

// refusal explains why the pool's policy refuses the service, or returns "".
func (p *poolState) refusal(r *request) string {
	pol := p.policy
	switch {
	case pol == nil:
		return ""
	case len(pol.Namespaces) > 0 && !slices.Contains(pol.Namespaces, r.Namespace):
		return "namespace " + quote(r.Namespace) + " is not among the pool's namespaces " +
			quoteList(pol.Namespaces, len(pol.Namespaces))
	case len(pol.NamespaceSelectors) > 0 && !anyMatches(pol.NamespaceSelectors, r.NamespaceLabels):
		return "the labels of namespace " + quote(r.Namespace) + " match none of the pool's namespace selectors"
	case len(pol.ServiceSelectors) > 0 && !anyMatches(pol.ServiceSelectors, r.Labels):
		return "the service's labels match none of the pool's service selectors"
	}
	return ""
}

func anyMatches(sels []Selector, labels map[string]string) bool {
	for _, s := range sels {
		if s != nil && s.Matches(labels) {
			return true
		}
	}
	return false
}

// comparePools orders auto-assign pools for trying: pools with a policy by
// priority (0 last) then name, then pools without a policy by name.
func comparePools(a, b *poolState) int {
	if (a.policy == nil) != (b.policy == nil) {
		if a.policy != nil {
			return -1
		}
		return 1
	}
	if a.policy != nil {
		if c := comparePriority(a.policy.Priority, b.policy.Priority); c != 0 {
			return c
		}
	}
	return strings.Compare(a.name, b.name)
}

func comparePriority(a, b int) int {
	switch {
	case a == b:
		return 0
	case a == 0:
		return 1
	case b == 0:
		return -1
	case a < b:
		return -1
	}
	return 1
}

func quote(s string) string { return `"` + s + `"` }

// quoteList renders at most three names, then how many more of total.
func quoteList(names []string, total int) string {
	const shown = 3
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names {
		if i == shown {
			b.WriteString(" and " + strconv.Itoa(total-shown) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	b.WriteByte(']')
	return b.String()
}
