package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L2AdvertisementSpec selects which Service IPs are announced in L2 mode
// (ARP for IPv4, NDP for IPv6), from which nodes and on which interfaces.
// An empty spec announces every pool's IPs from every node.
type L2AdvertisementSpec struct {
	// IPAddressPools names the pools whose IPs this advertisement covers.
	// When both this and IPAddressPoolSelectors are empty, all pools are
	// covered.
	// +listType=set
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`

	// IPAddressPoolSelectors selects pools by their labels.
	// +listType=atomic
	// +optional
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`

	// NodeSelectors limits the nodes that may announce. Empty means all.
	// +listType=atomic
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Interfaces limits the interfaces that answer ARP/NDP. Empty means
	// every usable interface of the node. A node with none of these
	// interfaces is not a candidate for the IP.
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=15
	// +optional
	Interfaces []string `json:"interfaces,omitempty"`

	// ServiceSelectors limits the advertisement to Services whose labels
	// match any of these selectors. Empty means all Services.
	// +listType=atomic
	// +optional
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// L2Advertisement announces Service IPs from pools in L2 mode.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=l2adv,categories=pylon
// +kubebuilder:printcolumn:name="IPAddressPools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="IPAddressPool Selectors",type=string,JSONPath=`.spec.ipAddressPoolSelectors`,priority=10
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.spec.interfaces`
// +kubebuilder:printcolumn:name="Node Selectors",type=string,JSONPath=`.spec.nodeSelectors`,priority=10
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec L2AdvertisementSpec `json:"spec,omitempty"`
}

// L2AdvertisementList is a list of L2Advertisement.
//
// +kubebuilder:object:root=true
type L2AdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2Advertisement `json:"items"`
}
