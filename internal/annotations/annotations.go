// Package annotations reads the Service annotations Pylon honours: its own
// (pylonlb.io/loadBalancerIPs, pylonlb.io/address-pool,
// pylonlb.io/allow-shared-ip) and MetalLB's as aliases (metallb.io/... and
// the older metallb.universe.tf/...), so that Services written for MetalLB
// keep their meaning under Pylon.
//
// Resolve is the one place that decides which annotation counts; the
// controller, and anything that must agree with it, calls it instead of
// reading annotations itself. It is pure and uses the standard library
// only.
package annotations

import (
	"fmt"
	"strings"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// MetalLB's annotation prefixes, newest first.
const (
	MetalLBPrefix       = "metallb.io/"
	MetalLBLegacyPrefix = "metallb.universe.tf/"
)

// Names of the honoured annotations, without prefix.
const (
	loadBalancerIPs = "loadBalancerIPs"
	addressPool     = "address-pool"
	allowSharedIP   = "allow-shared-ip"
)

// Key is one honoured setting.
type Key int

// The honoured settings.
const (
	LoadBalancerIPs Key = iota // pylonlb.io/loadBalancerIPs
	AddressPool                // pylonlb.io/address-pool
	AllowSharedIP              // pylonlb.io/allow-shared-ip
	numKeys
)

// Pylon returns the pylonlb.io/ annotation of the setting.
func (k Key) Pylon() string {
	switch k {
	case LoadBalancerIPs:
		return v1beta1.AnnotationLoadBalancerIPs
	case AddressPool:
		return v1beta1.AnnotationAddressPool
	case AllowSharedIP:
		return v1beta1.AnnotationAllowSharedIP
	}
	return fmt.Sprintf("Key(%d)", int(k))
}

// suffix is the annotation name without prefix.
func (k Key) suffix() string {
	return strings.TrimPrefix(k.Pylon(), v1beta1.AnnotationPrefix)
}

// Aliases returns the MetalLB annotations read for the setting, in order
// of precedence (after the pylonlb.io/ one).
func (k Key) Aliases() []string {
	return []string{MetalLBPrefix + k.suffix(), MetalLBLegacyPrefix + k.suffix()}
}

// Setting is the value a Service gives one setting.
type Setting struct {
	Value string
	Set   bool
	// From is the annotation the value came from; "" when not set.
	From string
	// Ignored lists the annotations that were set to a different value
	// and lost to From, as "annotation=value".
	Ignored []string
}

// Resolved is what a Service's annotations ask of Pylon.
type Resolved struct {
	settings [numKeys]Setting
}

// Get returns one setting.
func (r Resolved) Get(k Key) Setting { return r.settings[k] }

// Value returns a setting's value ("" when unset) and whether it is set.
func (r Resolved) Value(k Key) (string, bool) {
	s := r.settings[k]
	return s.Value, s.Set
}

// Resolve reads a Service's annotations. For each setting the
// pylonlb.io/ annotation wins, then metallb.io/, then
// metallb.universe.tf/; annotations of lower precedence set to another
// value are listed in Ignored.
func Resolve(annots map[string]string) Resolved {
	var r Resolved
	for k := Key(0); k < numKeys; k++ {
		s := &r.settings[k]
		for _, name := range append([]string{k.Pylon()}, k.Aliases()...) {
			v, ok := annots[name]
			switch {
			case !ok:
			case !s.Set:
				*s = Setting{Value: v, Set: true, From: name}
			case v != s.Value:
				s.Ignored = append(s.Ignored, name+"="+quote(v))
			}
		}
	}
	return r
}

// quote renders an annotation value for a message.
func quote(v string) string { return fmt.Sprintf("%q", v) }

// Aliased lists the settings taken from a MetalLB annotation, as
// "metallb.io/address-pool as pylonlb.io/address-pool", in Key order.
func (r Resolved) Aliased() []string {
	var out []string
	for k := Key(0); k < numKeys; k++ {
		if s := r.settings[k]; s.Set && s.From != k.Pylon() {
			out = append(out, s.From+" as "+k.Pylon())
		}
	}
	return out
}

// Conflicts lists, for each setting with disagreeing annotations, which
// one won and which were ignored, in Key order.
func (r Resolved) Conflicts() []string {
	var out []string
	for k := Key(0); k < numKeys; k++ {
		s := r.settings[k]
		if len(s.Ignored) == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s wins over %s", s.From, quote(s.Value), strings.Join(s.Ignored, ", ")))
	}
	return out
}

// AliasMessage is the Normal event's note for a Service using MetalLB's
// annotations; "" when it uses none.
func (r Resolved) AliasMessage() string {
	a := r.Aliased()
	if len(a) == 0 {
		return ""
	}
	return "Honouring MetalLB annotation " + strings.Join(a, ", ") + "; prefer the pylonlb.io/ annotation"
}

// ConflictMessage is the Warning event's note for a Service whose
// annotations disagree; "" when they agree.
func (r Resolved) ConflictMessage() string {
	c := r.Conflicts()
	if len(c) == 0 {
		return ""
	}
	return "Conflicting annotations: " + strings.Join(c, "; ")
}
