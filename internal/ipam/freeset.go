package ipam

// span is an inclusive interval of addresses.
type span struct{ first, last u128 }

func (s span) contains(x u128) bool { return !x.less(s.first) && !s.last.less(x) }

// node is a treap node keyed by span.first. Spans in a set are disjoint, so
// a node's first and last may be moved in place as long as they stay clear
// of the neighbours.
type node struct {
	span
	prio        uint64
	left, right *node
}

// freeSet is an ordered set of disjoint spans: a treap whose priorities come
// from a deterministic generator (only the shape depends on them, never a
// result).
type freeSet struct {
	root *node
	seed uint64
	n    int
}

func (s *freeSet) empty() bool { return s.root == nil }

// min returns the lowest span, or nil.
func (s *freeSet) min() *node {
	n := s.root
	for n != nil && n.left != nil {
		n = n.left
	}
	return n
}

// floor returns the span with the greatest first <= x, or nil.
func (s *freeSet) floor(x u128) *node {
	var best *node
	for n := s.root; n != nil; {
		if x.less(n.first) {
			n = n.left
		} else {
			best, n = n, n.right
		}
	}
	return best
}

// insert adds a span that overlaps none in the set.
func (s *freeSet) insert(sp span) {
	s.seed += 0x9e3779b97f4a7c15 // splitmix64
	z := s.seed
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	s.root = insertNode(s.root, &node{span: sp, prio: z ^ z>>31})
	s.n++
}

// remove deletes the span starting at first.
func (s *freeSet) remove(first u128) {
	s.root = removeNode(s.root, first)
	s.n--
}

// each calls f for every span in order.
func (s *freeSet) each(f func(span)) { walk(s.root, f) }

func walk(n *node, f func(span)) {
	if n == nil {
		return
	}
	walk(n.left, f)
	f(n.span)
	walk(n.right, f)
}

func insertNode(t, n *node) *node {
	if t == nil {
		return n
	}
	if n.prio > t.prio {
		n.left, n.right = split(t, n.first)
		return n
	}
	if n.first.less(t.first) {
		t.left = insertNode(t.left, n)
	} else {
		t.right = insertNode(t.right, n)
	}
	return t
}

func removeNode(t *node, first u128) *node {
	if t == nil {
		return nil
	}
	switch c := first.cmp(t.first); {
	case c < 0:
		t.left = removeNode(t.left, first)
	case c > 0:
		t.right = removeNode(t.right, first)
	default:
		return merge(t.left, t.right)
	}
	return t
}

// split cuts t into spans starting before k and the rest.
func split(t *node, k u128) (*node, *node) {
	if t == nil {
		return nil, nil
	}
	if t.first.less(k) {
		l, r := split(t.right, k)
		t.right = l
		return t, r
	}
	l, r := split(t.left, k)
	t.left = r
	return l, t
}

// merge joins two treaps where every span of l precedes every span of r.
func merge(l, r *node) *node {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.prio > r.prio:
		l.right = merge(l.right, r)
		return l
	}
	r.left = merge(l, r.left)
	return r
}
