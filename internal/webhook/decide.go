// Package webhook is Pylon's validating admission webhook, served by the
// controller. Every create, update and delete of a configuration object
// in Pylon's namespace is checked by running model.From over the objects
// the controller sees with the change applied: a change is refused when
// it adds problems the configuration did not have, with the model's own
// messages, so `kubectl apply` reports what the controller would report.
// Problems that already existed never block an unrelated change; they are
// returned as warnings when they concern the changed object.
//
// Deleting an IPAddressPool whose addresses Services hold, or a
// BFDProfile a BGPPeer uses, is refused with the names of those Services
// or peers.
//
// Decide is the pure decision; Validator adapts it to admission requests;
// AddToManager serves it with certificates from package certs.
package webhook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/model"
)

// Kinds the webhook checks, as model.FieldError.Kind names them.
const (
	KindPool          = "IPAddressPool"
	KindL2            = "L2Advertisement"
	KindBGP           = "BGPAdvertisement"
	KindPeer          = "BGPPeer"
	KindBFD           = "BFDProfile"
	KindCommunity     = "Community"
	maxListedProblems = 20
	maxWarnings       = 5
)

// Operation is an admission operation.
type Operation int

// Operations the webhook checks.
const (
	Create Operation = iota + 1
	Update
	Delete
)

// String names the operation as users read it.
func (o Operation) String() string {
	switch o {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Operation(%d)", int(o))
}

// Change is one admission request, reduced to what the decision needs.
type Change struct {
	Op   Operation
	Kind string // one of the Kind constants
	Name string
	// Object is the new object for Create and Update, and the deleted one
	// (or nil) for Delete: a *v1beta1.IPAddressPool, *v1beta1.BGPPeer, ...
	// matching Kind.
	Object client.Object
}

// Input is everything Decide looks at.
type Input struct {
	// Existing are the configuration objects of Pylon's namespace before
	// the change, Secrets included.
	Existing model.Objects
	Change   Change
	// Services are the cluster's Services; only read to delete a pool.
	Services []corev1.Service
	// NamespaceTerminating is true while Pylon's namespace is being
	// deleted: every delete is then allowed, so the namespace can go.
	NamespaceTerminating bool
}

// Reason classifies a refusal.
type Reason int

// Refusal reasons.
const (
	// Invalid: the change adds configuration problems.
	Invalid Reason = iota + 1
	// InUse: the deleted object is used by Services or peers.
	InUse
	// Unsupported: the request cannot be checked (a bug or a version skew).
	Unsupported
)

// Verdict is Decide's answer.
type Verdict struct {
	Allowed bool
	Reason  Reason // when refused
	Message string // when refused: what is wrong, for a user
	// Problems are the configuration problems the change adds (Invalid).
	Problems []model.FieldError
	// Warnings are shown to the user of an allowed change: problems that
	// already existed.
	Warnings []string
}

// Decide checks one change against the existing configuration.
func Decide(in Input) Verdict {
	ch := in.Change
	if ch.Op == Delete {
		if in.NamespaceTerminating {
			return Verdict{Allowed: true}
		}
		if v, refused := refuseInUse(in); refused {
			return v
		}
	}
	after, err := applyChange(in.Existing, ch)
	if err != nil {
		return Verdict{Reason: Unsupported, Message: err.Error()}
	}
	before := problems(in.Existing)
	now := problems(after)
	added := slices.DeleteFunc(slices.Clone(now), func(e model.FieldError) bool { return slices.Contains(before, e) })
	if len(added) > 0 {
		return Verdict{Reason: Invalid, Problems: added, Message: invalidMessage(ch, added, len(before))}
	}
	return Verdict{Allowed: true, Warnings: warnings(ch, now)}
}

// problems runs the model and returns its problems (none when valid).
func problems(o model.Objects) []model.FieldError {
	_, err := model.From(o)
	if err == nil {
		return nil
	}
	var es model.Errors
	if errors.As(err, &es) {
		return es
	}
	return []model.FieldError{{Message: err.Error()}}
}

// invalidMessage explains a refusal for new problems.
func invalidMessage(ch Change, added []model.FieldError, existed int) string {
	var b strings.Builder
	if ch.Op == Delete {
		fmt.Fprintf(&b, "deleting %s %q would make Pylon's configuration invalid:", ch.Kind, ch.Name)
	} else {
		fmt.Fprintf(&b, "this %s of %s %q would make Pylon's configuration invalid:", ch.Op, ch.Kind, ch.Name)
	}
	for i, e := range added {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "\n- and %d more", len(added)-i)
			break
		}
		b.WriteString("\n- " + e.Error())
	}
	if existed > 0 {
		fmt.Fprintf(&b, "\n(%d %s that existed before this change %s not counted)", existed, plural(existed, "problem", "problems"), plural(existed, "is", "are"))
	}
	return b.String()
}

// warnings lists the remaining problems of the changed object, and how
// many others there are.
func warnings(ch Change, now []model.FieldError) []string {
	var out []string
	others := 0
	for _, e := range now {
		if e.Kind != ch.Kind || e.Name != ch.Name || ch.Op == Delete {
			others++
			continue
		}
		if len(out) < maxWarnings {
			out = append(out, e.Error()+" (this problem existed before this change)")
		}
	}
	if others > 0 {
		out = append(out, fmt.Sprintf("Pylon's configuration has %d other %s that existed before this change; the controller keeps its last valid configuration until they are fixed",
			others, plural(others, "problem", "problems")))
	}
	return out
}

// plural picks the singular or plural word.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
