package model

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Selector is a compiled label selector. It satisfies ipam.Selector, so
// the allocator can match labels without importing Kubernetes packages.
type Selector struct {
	sel labels.Selector
}

// Matches reports whether the labels satisfy the selector.
func (s Selector) Matches(m map[string]string) bool {
	return s.sel.Matches(labels.Set(m))
}

// String renders the selector in kubectl's syntax.
func (s Selector) String() string { return s.sel.String() }

// Selectors is a list of selectors of which any one must match; an empty
// list matches everything.
type Selectors []Selector

// MatchAny reports whether the list is empty or one selector matches.
func (ss Selectors) MatchAny(m map[string]string) bool {
	if len(ss) == 0 {
		return true
	}
	for _, s := range ss {
		if s.Matches(m) {
			return true
		}
	}
	return false
}

// compileSelectors compiles a list of API selectors, reporting each bad one
// against field.
func compileSelectors(c *collector, kind, name, field string, in []metav1.LabelSelector) Selectors {
	out := make(Selectors, 0, len(in))
	for i := range in {
		sel, err := metav1.LabelSelectorAsSelector(&in[i])
		if err != nil {
			c.add(kind, name, fmt.Sprintf("%s[%d]", field, i), "invalid label selector: %v", err)
			continue
		}
		out = append(out, Selector{sel: sel})
	}
	return out
}
