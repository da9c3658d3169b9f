package cachetrim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMetaKeepsIdentityLabelsAndPrefixedAnnotations(t *testing.T) {
	now := metav1.Now()
	in := metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u", ResourceVersion: "7", Labels: map[string]string{"a": "b"},
		CreationTimestamp: now, DeletionTimestamp: &now, Finalizers: []string{"f"}, Generation: 3,
		Annotations:   map[string]string{"pylonlb.io/address-pool": "p", "kubectl.kubernetes.io/last-applied-configuration": "{...}"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}
	want := metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u", ResourceVersion: "7", Labels: map[string]string{"a": "b"},
		CreationTimestamp: now, DeletionTimestamp: &now, Annotations: map[string]string{"pylonlb.io/address-pool": "p"}}
	if diff := cmp.Diff(want, Meta(in, "pylonlb.io/")); diff != "" {
		t.Errorf("with prefix (-want +got):\n%s", diff)
	}
	want.Annotations = nil
	if diff := cmp.Diff(want, Meta(in, "")); diff != "" {
		t.Errorf("without prefix (-want +got):\n%s", diff)
	}
	in.Annotations = map[string]string{"pylonlb.io/a": "1", "pylonlb.io/b": "2"}
	if got := Meta(in, "pylonlb.io/"); !cmp.Equal(got.Annotations, in.Annotations) {
		t.Errorf("annotations %v, want all of %v", got.Annotations, in.Annotations)
	}
	in.Annotations = map[string]string{"other": "x"}
	if got := Meta(in, "pylonlb.io/"); got.Annotations != nil {
		t.Errorf("annotations %v, want none (nil map)", got.Annotations)
	}
}
