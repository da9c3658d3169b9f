package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BGPAdvertisementSpec selects which Service IPs are announced over BGP,
// from which nodes, to which peers and with which attributes. An empty spec
// announces every pool's IPs as host routes to every peer from every node.
type BGPAdvertisementSpec struct {
	// AggregationLength is the prefix length announced for IPv4 addresses:
	// 32 (default) announces each IP; shorter lengths announce the covering
	// prefix once. It must not be shorter than any selected pool's CIDRs.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=32
	// +kubebuilder:default=32
	// +optional
	AggregationLength *int32 `json:"aggregationLength,omitempty"`

	// AggregationLengthV6 is the same for IPv6 addresses (default 128).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	// +kubebuilder:default=128
	// +optional
	AggregationLengthV6 *int32 `json:"aggregationLengthV6,omitempty"`

	// LocalPref is the BGP LOCAL_PREF attribute, sent to iBGP peers only.
	// +optional
	LocalPref uint32 `json:"localPref,omitempty"`

	// Communities attached to the announcements: standard "A:B" (16-bit
	// numbers), large "large:A:B:C" (32-bit numbers), or the name of an
	// alias defined in a Community object.
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=100
	// +optional
	Communities []string `json:"communities,omitempty"`

	// WeightByEndpoints attaches the BGP link-bandwidth extended community
	// (draft-ietf-idr-link-bandwidth) to each node's path, proportional to
	// the Service's ready endpoints on that node, so a router doing weighted
	// multipath (unequal-cost, UCMP) sends each node a share of the traffic
	// that follows its endpoints. It applies to Services with
	// externalTrafficPolicy Local; Cluster Services get no community (every
	// node is an equal next hop). Each ready endpoint counts as 1 Mbit/s.
	// +optional
	WeightByEndpoints bool `json:"weightByEndpoints,omitempty"`

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

	// NodeSelectors limits the nodes that announce. Empty means all.
	// +listType=atomic
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Peers names the BGPPeer objects to announce to. Empty means all.
	// +listType=set
	// +optional
	Peers []string `json:"peers,omitempty"`

	// ServiceSelectors limits the advertisement to Services whose labels
	// match any of these selectors. Empty means all Services.
	// +listType=atomic
	// +optional
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// BGPAdvertisement announces Service IPs from pools over BGP.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bgpadv,categories=pylon
// +kubebuilder:printcolumn:name="IPAddressPools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.spec.peers`
// +kubebuilder:printcolumn:name="Aggregation",type=integer,JSONPath=`.spec.aggregationLength`,priority=10
// +kubebuilder:printcolumn:name="Local Pref",type=integer,JSONPath=`.spec.localPref`,priority=10
// +kubebuilder:printcolumn:name="Communities",type=string,JSONPath=`.spec.communities`,priority=10
// +kubebuilder:printcolumn:name="Weight By Endpoints",type=boolean,JSONPath=`.spec.weightByEndpoints`,priority=10
// +kubebuilder:printcolumn:name="Node Selectors",type=string,JSONPath=`.spec.nodeSelectors`,priority=10
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BGPAdvertisementSpec `json:"spec,omitempty"`
}

// BGPAdvertisementList is a list of BGPAdvertisement.
//
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}
