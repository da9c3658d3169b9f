package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L2Placement chooses how the node that answers for an address is picked.
// +kubebuilder:validation:Enum=Hash;Balanced
type L2Placement string

const (
	// L2PlacementHash picks each address's node by rendezvous hashing.
	L2PlacementHash L2Placement = "Hash"
	// L2PlacementBalanced spreads addresses evenly over the nodes.
	L2PlacementBalanced L2Placement = "Balanced"
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

	// Placement chooses how the node answering for each address is picked:
	// Hash (the default) or Balanced.
	//
	// Hash picks each address's node on its own, by rendezvous hashing over
	// the candidate nodes: a node that leaves moves only its own addresses,
	// but one node may by chance answer for many (all 3 addresses on the
	// same one of 3 nodes, one time in nine).
	//
	// Balanced places the Balanced Services together so that no node
	// answers for more than ceil(1.25 * S / N) of S Services on the N nodes
	// they may use (a Service's addresses, and those of Services sharing
	// an address, count as one). Only where node selectors or Local
	// traffic policy leave too few nodes for some Services can a node
	// answer for more. In exchange an address sometimes moves although its
	// node stayed, when another Service or a node comes or goes. Switching
	// between Hash and Balanced moves most addresses once.
	//
	// A Service matched by several advertisements is Balanced when any of
	// them says so. Every speaker computes the placement on its own: set
	// Balanced only once all speakers run a Pylon version that knows it,
	// and keep them on one version, or they may disagree on the owner.
	// +optional
	Placement L2Placement `json:"placement,omitempty"`
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
