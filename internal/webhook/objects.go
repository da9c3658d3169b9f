package webhook

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

// NewObject returns an empty object of a checked kind, or nil for another
// kind.
func NewObject(kind string) client.Object {
	switch kind {
	case KindPool:
		return &v1beta1.IPAddressPool{}
	case KindL2:
		return &v1beta1.L2Advertisement{}
	case KindBGP:
		return &v1beta1.BGPAdvertisement{}
	case KindPeer:
		return &v1beta1.BGPPeer{}
	case KindBFD:
		return &v1beta1.BFDProfile{}
	case KindCommunity:
		return &v1beta1.Community{}
	}
	return nil
}

// applyChange returns the objects with the change made: the object of
// that kind and name removed, then the new one added (Create, Update).
// The input is not modified.
func applyChange(in model.Objects, ch Change) (model.Objects, error) {
	out := in
	var err error
	switch ch.Kind {
	case KindPool:
		out.Pools, err = replace(in.Pools, ch)
	case KindL2:
		out.L2Advertisements, err = replace(in.L2Advertisements, ch)
	case KindBGP:
		out.BGPAdvertisements, err = replace(in.BGPAdvertisements, ch)
	case KindPeer:
		out.Peers, err = replace(in.Peers, ch)
	case KindBFD:
		out.BFDProfiles, err = replace(in.BFDProfiles, ch)
	case KindCommunity:
		out.Communities, err = replace(in.Communities, ch)
	default:
		return in, fmt.Errorf("kind %q is not checked by this webhook", ch.Kind)
	}
	return out, err
}

// replace returns a copy of list without ch.Name and, unless ch deletes,
// with ch.Object (which must be a *T) added.
func replace[T any, PT interface {
	*T
	client.Object
}](list []T, ch Change) ([]T, error) {
	out := make([]T, 0, len(list)+1)
	for i := range list {
		if PT(&list[i]).GetName() != ch.Name {
			out = append(out, list[i])
		}
	}
	if ch.Op == Delete {
		return out, nil
	}
	obj, ok := ch.Object.(PT)
	if !ok || obj == nil {
		return nil, fmt.Errorf("%s %q: got object %T, want %T", ch.Kind, ch.Name, ch.Object, PT(nil))
	}
	return append(out, *obj), nil
}

// find returns the object of the list with that name, or nil.
func find[T any, PT interface {
	*T
	client.Object
}](list []T, name string) PT {
	for i := range list {
		if p := PT(&list[i]); p.GetName() == name {
			return p
		}
	}
	return nil
}

// Apply returns the objects with the change made, as Decide judges them:
// the object of that kind and name removed, then the new one added
// (Create, Update). The input is not modified. The kubectl plugin chains
// several changes with it.
func Apply(in model.Objects, ch Change) (model.Objects, error) { return applyChange(in, ch) }
