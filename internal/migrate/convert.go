package migrate

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

// Default namespaces.
const (
	DefaultMetalLBNamespace = "metallb-system"
	DefaultPylonNamespace   = "pylon-system"
)

// Options are Convert's settings.
type Options struct {
	// MetalLBNamespace is where MetalLB reads its objects; objects of a
	// file without namespace are taken to be there. Objects elsewhere had
	// no effect in MetalLB and are not converted. Default metallb-system.
	MetalLBNamespace string
	// PylonNamespace is the namespace of the Pylon objects. Default
	// pylon-system.
	PylonNamespace string
}

func (o Options) withDefaults() Options {
	o.MetalLBNamespace = cmp.Or(o.MetalLBNamespace, DefaultMetalLBNamespace)
	o.PylonNamespace = cmp.Or(o.PylonNamespace, DefaultPylonNamespace)
	return o
}

// ObjectRef names a MetalLB object.
type ObjectRef struct {
	APIVersion, Kind, Namespace, Name string
}

// String renders the reference as `BGPPeer metallb-system/peer1`.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func (o *Object) ref() ObjectRef {
	return ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Finding is one MetalLB field (or object) the Pylon objects do not carry
// over as it was.
type Finding struct {
	Object ObjectRef
	// Field is the path of the MetalLB field, e.g. "spec.vrf"; "" for the
	// whole object.
	Field string
	// Value is MetalLB's value, as JSON; "" when not useful.
	Value string
	// Loss is true when MetalLB's behaviour is lost: the field is dropped
	// or Pylon would not honour it. False marks a note: same behaviour,
	// possibly after a step the message names.
	Loss    bool
	Message string
}

// String renders the finding on one line.
func (f Finding) String() string {
	s := f.Object.String()
	if f.Field != "" {
		s += ": " + f.Field
	}
	if f.Value != "" {
		s += " = " + f.Value
	}
	return s + ": " + f.Message
}

// Converted is one Pylon object and what its conversion reported.
type Converted struct {
	From ObjectRef
	// Object is a *v1beta1.IPAddressPool, *v1beta1.L2Advertisement, ...
	// with its TypeMeta set, in the Pylon namespace.
	Object   client.Object
	Findings []Finding
}

// Result is a whole conversion.
type Result struct {
	// Objects in output order: pools, L2 and BGP advertisements, peers,
	// BFD profiles, communities, each by name.
	Objects []Converted
	// Skipped are findings about MetalLB objects that were not converted.
	Skipped []Finding
}

// Findings returns every finding, skipped objects first.
func (r *Result) Findings() []Finding {
	out := slices.Clone(r.Skipped)
	for _, c := range r.Objects {
		out = append(out, c.Findings...)
	}
	return out
}

// Lossy reports whether anything of MetalLB's behaviour was lost.
func (r *Result) Lossy() bool {
	return slices.ContainsFunc(r.Findings(), func(f Finding) bool { return f.Loss })
}

// Convert turns MetalLB objects into Pylon objects. It fails only on
// input MetalLB itself could not have held: a field of the wrong type, or
// the same object twice.
func Convert(objs []Object, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	res := &Result{}
	seen := map[string]ObjectRef{}
	for i := range objs {
		o := &objs[i]
		if err := checkKind(*o); err != nil {
			return nil, err
		}
		if o.Namespace != "" && o.Namespace != opts.MetalLBNamespace {
			res.Skipped = append(res.Skipped, Finding{Object: o.ref(),
				Message: fmt.Sprintf("not converted: MetalLB reads its objects from namespace %s only, so this one had no effect", opts.MetalLBNamespace)})
			continue
		}
		key := o.Kind + "/" + o.Name
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s: defined twice (%s and %s)", o.Ref(), prev.APIVersion, o.APIVersion)
		}
		seen[key] = o.ref()
		c, err := convertOne(o, opts)
		if err != nil {
			return nil, err
		}
		res.Objects = append(res.Objects, c)
	}
	slices.SortFunc(res.Objects, func(a, b Converted) int {
		return cmp.Or(cmp.Compare(slices.Index(Kinds, a.From.Kind), slices.Index(Kinds, b.From.Kind)), cmp.Compare(a.From.Name, b.From.Name))
	})
	validate(res)
	return res, nil
}

// convertOne converts one object of a known kind.
func convertOne(o *Object, opts Options) (Converted, error) {
	var err error
	f := newFields(o, &err)
	c := Converted{From: o.ref()}
	meta := metav1.ObjectMeta{Name: o.Name, Namespace: opts.PylonNamespace, Labels: o.Labels}
	note := func(fd Finding) {
		fd.Object = o.ref()
		c.Findings = append(c.Findings, fd)
	}
	switch o.Kind {
	case KindIPAddressPool:
		c.Object = convertPool(f, meta, note)
	case KindL2Advertisement:
		c.Object = convertL2(f, meta)
	case KindBGPAdvertisement:
		c.Object = convertBGPAdv(f, meta)
	case KindBGPPeer:
		c.Object = convertPeer(f, meta, opts, note)
	case KindBFDProfile:
		c.Object = convertBFD(f, meta, note)
	case KindCommunity:
		c.Object = convertCommunity(f, meta)
	}
	c.Findings = append(c.Findings, f.unread()...)
	if err != nil {
		return Converted{}, err
	}
	gvk := v1beta1.GroupVersion.WithKind(o.Kind)
	c.Object.GetObjectKind().SetGroupVersionKind(gvk)
	return c, nil
}

// validate runs Pylon's own validation on the converted objects: what
// Pylon would reject is a loss, reported on the MetalLB object it came
// from.
func validate(res *Result) {
	var in model.Objects
	for _, c := range res.Objects {
		switch o := c.Object.(type) {
		case *v1beta1.IPAddressPool:
			in.Pools = append(in.Pools, *o)
		case *v1beta1.L2Advertisement:
			in.L2Advertisements = append(in.L2Advertisements, *o)
		case *v1beta1.BGPAdvertisement:
			in.BGPAdvertisements = append(in.BGPAdvertisements, *o)
		case *v1beta1.BGPPeer:
			in.Peers = append(in.Peers, *o)
			if ref := o.Spec.PasswordSecret; ref != nil {
				// The Secret is copied by the user; assume it is there.
				in.Secrets = append(in.Secrets, corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: o.Namespace},
					Data:       map[string][]byte{model.PasswordSecretKey: []byte("x")},
				})
			}
		case *v1beta1.BFDProfile:
			in.BFDProfiles = append(in.BFDProfiles, *o)
		case *v1beta1.Community:
			in.Communities = append(in.Communities, *o)
		}
	}
	_, err := model.From(in)
	es, _ := err.(model.Errors)
	for _, e := range es {
		i := slices.IndexFunc(res.Objects, func(c Converted) bool { return c.From.Kind == e.Kind && c.From.Name == e.Name })
		if i < 0 {
			continue
		}
		c := &res.Objects[i]
		c.Findings = append(c.Findings, Finding{Object: c.From, Field: e.Field, Loss: true,
			Message: "Pylon would reject this: " + e.Message})
	}
}
