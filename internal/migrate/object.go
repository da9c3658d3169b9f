package migrate

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Group is MetalLB's API group.
const Group = "metallb.io"

// Kinds of MetalLB objects Convert understands.
const (
	KindIPAddressPool    = "IPAddressPool"
	KindL2Advertisement  = "L2Advertisement"
	KindBGPAdvertisement = "BGPAdvertisement"
	KindBGPPeer          = "BGPPeer"
	KindBFDProfile       = "BFDProfile"
	KindCommunity        = "Community"
)

// Resources are the plural resource names of MetalLB's kinds.
var Resources = map[string]string{
	KindIPAddressPool:    "ipaddresspools",
	KindL2Advertisement:  "l2advertisements",
	KindBGPAdvertisement: "bgpadvertisements",
	KindBGPPeer:          "bgppeers",
	KindBFDProfile:       "bfdprofiles",
	KindCommunity:        "communities",
}

// versions lists, per kind, the metallb.io versions Convert reads.
var versions = map[string][]string{
	KindIPAddressPool:    {"v1beta1"},
	KindL2Advertisement:  {"v1beta1"},
	KindBGPAdvertisement: {"v1beta1"},
	KindBFDProfile:       {"v1beta1"},
	KindCommunity:        {"v1beta1"},
	KindBGPPeer:          {"v1beta2", "v1beta1"},
}

// Kinds lists the kinds Convert understands, in output order.
var Kinds = []string{KindIPAddressPool, KindL2Advertisement, KindBGPAdvertisement, KindBGPPeer, KindBFDProfile, KindCommunity}

// Versions returns the metallb.io versions of a kind Convert reads, the
// preferred one first; nil for an unknown kind.
func Versions(kind string) []string { return versions[kind] }

// Object is one MetalLB object as read from a file or the API server.
type Object struct {
	APIVersion string // "metallb.io/v1beta1"
	Kind       string
	Namespace  string // "" in a file without namespace
	Name       string
	Labels     map[string]string
	Spec       map[string]any // JSON-like: map[string]any, []any, string, bool, numbers
}

// Ref names an object in messages: `BGPPeer metallb-system/peer1`.
func (o *Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Version is the version part of APIVersion.
func (o *Object) Version() string {
	_, v, _ := strings.Cut(o.APIVersion, "/")
	return v
}

// FromUnstructured takes the fields Convert reads from an API object. It
// checks the group, kind and version like Parse does.
func FromUnstructured(u *unstructured.Unstructured) (Object, error) {
	o := Object{
		APIVersion: u.GetAPIVersion(),
		Kind:       u.GetKind(),
		Namespace:  u.GetNamespace(),
		Name:       u.GetName(),
		Labels:     u.GetLabels(),
	}
	if err := checkKind(o); err != nil {
		return Object{}, err
	}
	spec, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec")
	if err != nil {
		return Object{}, fmt.Errorf("%s: spec: %w", o.Ref(), err)
	}
	if found && spec != nil {
		m, ok := spec.(map[string]any)
		if !ok {
			return Object{}, fmt.Errorf("%s: spec: want an object, got %s", o.Ref(), typeName(spec))
		}
		o.Spec = m
	}
	return o, nil
}

// checkKind rejects objects that are not MetalLB configuration objects of
// a version Convert reads.
func checkKind(o Object) error {
	group, version, ok := strings.Cut(o.APIVersion, "/")
	what := fmt.Sprintf("%s (apiVersion %q)", o.Kind, o.APIVersion)
	if o.Name != "" {
		what = fmt.Sprintf("%s %q (apiVersion %q)", o.Kind, o.Name, o.APIVersion)
	}
	switch {
	case o.Kind == "":
		return fmt.Errorf("object without kind (apiVersion %q, name %q)", o.APIVersion, o.Name)
	case !ok || group != Group:
		return fmt.Errorf("%s: not a MetalLB object: %w", what, ErrUnknownKind)
	case o.Kind == "AddressPool":
		return fmt.Errorf("%s: MetalLB's legacy AddressPool is not converted; upgrade MetalLB to IPAddressPool and advertisements first: %w", what, ErrUnknownKind)
	case versions[o.Kind] == nil:
		return fmt.Errorf("%s: unknown MetalLB kind; known: %s: %w", what, strings.Join(Kinds, ", "), ErrUnknownKind)
	case !slices.Contains(versions[o.Kind], version):
		return fmt.Errorf("%s: unknown version of %s; known: %s: %w", what, o.Kind, strings.Join(versions[o.Kind], ", "), ErrUnknownKind)
	case o.Name == "":
		return fmt.Errorf("%s without metadata.name", what)
	}
	return nil
}
