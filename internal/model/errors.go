package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem with one field of one user-written object.
type FieldError struct {
	Kind    string // API kind, e.g. "IPAddressPool"
	Name    string // object name
	Field   string // JSON path below the object, e.g. "spec.addresses[2]"
	Message string // what is wrong, for a user
}

// Error renders the problem as `Kind "name": field: message`.
func (e FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s %q: %s", e.Kind, e.Name, e.Message)
	}
	return fmt.Sprintf("%s %q: %s: %s", e.Kind, e.Name, e.Field, e.Message)
}

// Errors is every problem found in one configuration, sorted by kind, name,
// field and message so that the input order never changes the report.
type Errors []FieldError

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collector gathers problems while a configuration is converted.
type collector struct {
	errs Errors
}

// add records a problem with a formatted message.
func (c *collector) add(kind, name, field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
}

// result returns nil when nothing was recorded, else the sorted problems.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortFunc(c.errs, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	c.errs = slices.Compact(c.errs)
	return c.errs
}

// ObjectErrors returns the problems of one object, for reporting problems
// on the object they concern (events, status conditions).
func ObjectErrors(err error, kind, name string) []FieldError {
	es, ok := err.(Errors)
	if !ok {
		return nil
	}
	var out []FieldError
	for _, e := range es {
		if e.Kind == kind && e.Name == name {
			out = append(out, e)
		}
	}
	return out
}
