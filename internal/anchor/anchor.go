// Package anchor ties the objects Pylon's components write at run time
// (status objects, ConfigurationStates, its Secrets, the leader lease) to
// Pylon's installation, so that uninstalling Pylon removes them too.
//
// The anchor of a component is its ClusterRole (pylon-controller,
// pylon-speaker): every install (chart or manifests) creates it and every
// uninstall removes it, and a cluster-scoped owner may own objects in any
// namespace. Each object a component writes carries an owner reference to
// it; when the ClusterRole goes, Kubernetes's garbage collector deletes
// them. Objects that must go earlier (a deleted Service's status) are
// deleted by the components themselves.
package anchor

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The components' ClusterRoles (fixed names, as in the chart and
// config/rbac).
const (
	ControllerRole = "pylon-controller"
	SpeakerRole    = "pylon-speaker"
)

// Ref returns the owner reference to the ClusterRole name with uid.
func Ref(name string, uid types.UID) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: name, UID: uid}
}

// GetUID reads the UID of the ClusterRole named name.
type GetUID func(ctx context.Context, name string) (types.UID, error)

// Resolver finds a component's anchor once and remembers it. Its methods
// are safe for concurrent use.
type Resolver struct {
	name string
	get  GetUID

	mu   sync.Mutex
	done bool
	ref  *metav1.OwnerReference
}

// NewResolver returns a resolver of the ClusterRole name read with get. It
// reads nothing yet.
func NewResolver(name string, get GetUID) *Resolver { return &Resolver{name: name, get: get} }

// Ref returns the owner reference, reading the ClusterRole the first time.
// It is nil when the ClusterRole does not exist or may not be read (Pylon
// run without its manifests, or with older RBAC): objects are then written
// without an owner. Other errors are returned and the read is tried again
// on the next call.
func (r *Resolver) Ref(ctx context.Context) (*metav1.OwnerReference, error) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.ref, nil
	}
	uid, err := r.get(ctx, r.name)
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		r.done = true
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read ClusterRole %s (the owner of Pylon's objects): %w", r.name, err)
	}
	ref := Ref(r.name, uid)
	r.done, r.ref = true, &ref
	return r.ref, nil
}

// Own adds the anchor to obj's owner references unless it has some
// already, reading the anchor when needed.
func (r *Resolver) Own(ctx context.Context, obj metav1.Object) error {
	if r == nil || len(obj.GetOwnerReferences()) > 0 {
		return nil
	}
	ref, err := r.Ref(ctx)
	if err != nil || ref == nil {
		return err
	}
	obj.SetOwnerReferences([]metav1.OwnerReference{*ref})
	return nil
}
