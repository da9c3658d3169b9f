package anchor

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

func TestResolver(t *testing.T) {
	ctx := context.Background()
	gr := schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}
	tests := []struct {
		name    string
		err     error
		wantRef bool
		wantErr bool
		again   int // reads after a second call
	}{
		{name: "found", wantRef: true, again: 1},
		{name: "not installed", err: apierrors.NewNotFound(gr, "pylon-speaker"), again: 1},
		{name: "older RBAC", err: apierrors.NewForbidden(gr, "pylon-speaker", errors.New("no")), again: 1},
		{name: "transient", err: errors.New("connection refused"), wantErr: true, again: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reads := 0
			r := NewResolver(SpeakerRole, func(_ context.Context, name string) (types.UID, error) {
				reads++
				if name != SpeakerRole {
					t.Errorf("read %q", name)
				}
				return "u-1", tc.err
			})
			ref, err := r.Ref(ctx)
			if (err != nil) != tc.wantErr || (ref != nil) != tc.wantRef {
				t.Fatalf("Ref = %+v, %v", ref, err)
			}
			if ref != nil && (ref.Kind != "ClusterRole" || ref.UID != "u-1" || ref.Name != SpeakerRole || ref.APIVersion != "rbac.authorization.k8s.io/v1") {
				t.Errorf("ref = %+v", ref)
			}
			_, _ = r.Ref(ctx)
			if reads != tc.again {
				t.Errorf("%d reads after two calls, want %d", reads, tc.again)
			}
		})
	}
}

func TestOwnKeepsExistingOwners(t *testing.T) {
	r := NewResolver(ControllerRole, func(context.Context, string) (types.UID, error) { return "u-2", nil })
	fresh := &corev1.Secret{}
	if err := r.Own(context.Background(), fresh); err != nil || len(fresh.OwnerReferences) != 1 || fresh.OwnerReferences[0].UID != "u-2" {
		t.Errorf("Own of an unowned object: %+v, %v", fresh.OwnerReferences, err)
	}
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "Service", UID: "s"}}}}
	if err := r.Own(context.Background(), owned); err != nil || len(owned.OwnerReferences) != 1 || owned.OwnerReferences[0].UID != "s" {
		t.Errorf("Own of an owned object changed it: %+v, %v", owned.OwnerReferences, err)
	}
	var none *Resolver
	if err := none.Own(context.Background(), fresh); err != nil {
		t.Errorf("nil resolver: %v", err)
	}
}
