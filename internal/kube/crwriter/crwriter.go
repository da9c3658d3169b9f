// Package crwriter adapts a controller-runtime client to kube.Writer, for
// the controller (which runs on controller-runtime) and for tests that
// use controller-runtime's fake client. The speaker must not import it.
package crwriter

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/kube"
)

// Writer writes through a controller-runtime client.
type Writer struct{ C client.Client }

var _ kube.Writer = Writer{}

// New adapts c.
func New(c client.Client) Writer { return Writer{C: c} }

// Create creates obj.
func (w Writer) Create(ctx context.Context, obj kube.Object) error {
	return w.C.Create(ctx, obj.(client.Object))
}

// MergePatch applies a JSON merge patch.
func (w Writer) MergePatch(ctx context.Context, obj kube.Object, patch []byte) error {
	return w.C.Patch(ctx, obj.(client.Object), client.RawPatch(types.MergePatchType, patch))
}

// Apply writes obj with server-side apply, forcing ownership.
func (w Writer) Apply(ctx context.Context, obj kube.Object, owner string) error {
	//nolint:staticcheck // typed server-side apply of a complete object is what we want here.
	return w.C.Patch(ctx, obj.(client.Object), client.Apply, client.FieldOwner(owner), client.ForceOwnership)
}

// Delete deletes obj.
func (w Writer) Delete(ctx context.Context, obj kube.Object) error {
	return w.C.Delete(ctx, obj.(client.Object))
}
