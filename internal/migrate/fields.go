package migrate

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fields reads one object (or sub-object) of a MetalLB spec. It remembers
// which keys were read, so that the keys left over, fields this converter
// does not know (a newer MetalLB's), are reported instead of silently
// dropped. The first type error is kept; later reads return zero values.
type fields struct {
	obj  *Object
	path string // "spec", "spec.serviceAllocation"
	m    map[string]any
	seen map[string]bool
	err  *error
}

// newFields reads obj's spec.
func newFields(obj *Object, err *error) *fields {
	return &fields{obj: obj, path: "spec", m: obj.Spec, seen: map[string]bool{}, err: err}
}

// fail records the first type error.
func (f *fields) fail(key, format string, args ...any) {
	if *f.err == nil {
		*f.err = fmt.Errorf("%s: %s.%s: %s", f.obj.Ref(), f.path, key, fmt.Sprintf(format, args...))
	}
}

// get returns a key's value (nil when absent or null) and marks it read.
func (f *fields) get(key string) any {
	f.seen[key] = true
	return f.m[key]
}

// has reports whether the key is set to something other than null.
func (f *fields) has(key string) bool { return f.m[key] != nil }

// str reads a string.
func (f *fields) str(key string) string {
	switch v := f.get(key).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		f.fail(key, "want a string, got %s", typeName(v))
		return ""
	}
}

// boolean reads a boolean; nil when absent.
func (f *fields) boolean(key string) *bool {
	switch v := f.get(key).(type) {
	case nil:
		return nil
	case bool:
		return &v
	default:
		f.fail(key, "want true or false, got %s", typeName(v))
		return nil
	}
}

// uint reads a whole number in [0, max]; nil when absent.
func (f *fields) uint(key string, max int64) *int64 {
	v := f.get(key)
	if v == nil {
		return nil
	}
	n, ok := toInt64(v)
	if !ok {
		f.fail(key, "want a whole number, got %s", typeName(v))
		return nil
	}
	if n < 0 || n > max {
		f.fail(key, "%d is out of range 0-%d", n, max)
		return nil
	}
	return &n
}

// u32 reads a uint32; nil when absent.
func (f *fields) u32(key string) *uint32 {
	n := f.uint(key, math.MaxUint32)
	if n == nil {
		return nil
	}
	u := uint32(*n)
	return &u
}

// strs reads a list of strings.
func (f *fields) strs(key string) []string {
	v := f.get(key)
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		f.fail(key, "want a list of strings, got %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			f.fail(fmt.Sprintf("%s[%d]", key, i), "want a string, got %s", typeName(x))
			return nil
		}
		out = append(out, s)
	}
	return out
}

// duration reads a Go duration string ("90s", "1m30s"); nil when absent.
func (f *fields) duration(key string) *metav1.Duration {
	v := f.get(key)
	if v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		f.fail(key, "want a duration such as \"90s\", got %s", typeName(v))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		f.fail(key, "%q is not a duration such as \"90s\"", s)
		return nil
	}
	return &metav1.Duration{Duration: d}
}

// selectors reads a list of Kubernetes label selectors (MetalLB's v1beta1
// BGPPeer selector type has the same JSON shape).
func (f *fields) selectors(key string) []metav1.LabelSelector {
	v := f.get(key)
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		f.fail(key, "want a list of label selectors, got %s", typeName(v))
		return nil
	}
	out := make([]metav1.LabelSelector, 0, len(list))
	for i, x := range list {
		var sel metav1.LabelSelector
		if err := decodeStrict(x, &sel); err != nil {
			f.fail(fmt.Sprintf("%s[%d]", key, i), "not a label selector: %v", err)
			return nil
		}
		out = append(out, sel)
	}
	return out
}

// sub reads a nested object; nil when absent.
func (f *fields) sub(key string) *fields {
	v := f.get(key)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		f.fail(key, "want an object, got %s", typeName(v))
		return nil
	}
	return &fields{obj: f.obj, path: f.path + "." + key, m: m, seen: map[string]bool{}, err: f.err}
}

// unread returns the full paths and values of the keys nobody read, sorted.
func (f *fields) unread() []Finding {
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(f.m)) {
		if f.seen[k] || f.m[k] == nil {
			continue
		}
		out = append(out, Finding{
			Object: f.obj.ref(), Field: f.path + "." + k, Value: show(f.m[k]), Loss: true,
			Message: "a field this converter does not know (a newer MetalLB's?): not migrated",
		})
	}
	return out
}

// decodeStrict converts a decoded JSON value into a typed value, refusing
// unknown fields.
func decodeStrict(v any, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// show renders a value compactly for a finding.
func show(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 80
	if len(data) > max {
		return string(data[:max]) + "..."
	}
	return string(data)
}
