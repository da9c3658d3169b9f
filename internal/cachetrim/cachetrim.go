// Package cachetrim holds what the informer transforms of the controller
// and the speaker share: keeping only the metadata Pylon reads of objects
// it caches by the thousand.
package cachetrim

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Meta keeps what identifies an object, its labels, its deletion mark and
// the annotations whose keys start with one of annotationPrefixes (empty
// prefixes are ignored; none keeps no annotation): not managed fields,
// owner references, finalizers or other annotations (kubectl's
// last-applied-configuration alone is a copy of the object).
func Meta(m metav1.ObjectMeta, annotationPrefixes ...string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Labels: m.Labels, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp}
	prefixes := slices.DeleteFunc(slices.Clone(annotationPrefixes), func(p string) bool { return p == "" })
	if len(prefixes) == 0 {
		return out
	}
	keep := func(k string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) })
	}
	all := true
	for k := range m.Annotations {
		all = all && keep(k)
	}
	if all {
		out.Annotations = m.Annotations // nothing to drop: share the map, not a copy
		return out
	}
	for k, v := range m.Annotations {
		if keep(k) {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out
}
