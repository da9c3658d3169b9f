package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CommunitySpec defines named aliases for BGP community values.
type CommunitySpec struct {
	// Communities lists the aliases. Names must be unique across all
	// Community objects.
	// +listType=map
	// +listMapKey=name
	// +optional
	Communities []CommunityAlias `json:"communities,omitempty"`
}

// CommunityAlias names one community value.
type CommunityAlias struct {
	// Name is the alias used in BGPAdvertisement.spec.communities.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Value is a standard community "A:B" (16-bit numbers) or a large
	// community "large:A:B:C" (32-bit numbers).
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=40
	Value string `json:"value"`
}

// Community holds named BGP community aliases.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=pylon
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Community struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec CommunitySpec `json:"spec,omitempty"`
}

// CommunityList is a list of Community.
//
// +kubebuilder:object:root=true
type CommunityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Community `json:"items"`
}
