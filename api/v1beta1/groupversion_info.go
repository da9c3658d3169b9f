// Package v1beta1 holds Pylon's custom resources (API group pylonlb.io,
// version v1beta1): address pools, L2 and BGP advertisements, BGP peers, BFD
// profiles, community aliases, and the status kinds Pylon writes. All kinds
// are namespaced; Pylon reads its configuration from its install namespace
// only.
//
// The types carry kubebuilder markers; `make generate` turns them into the
// deep-copy functions and the CRD manifests in config/crd/bases.
//
// +kubebuilder:object:generate=true
// +groupName=pylonlb.io
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every kind in this package.
var GroupVersion = schema.GroupVersion{Group: "pylonlb.io", Version: "v1beta1"}

// AddToScheme adds this package's kinds to a scheme. Callers own the scheme:
// nothing here touches a global one.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, knownTypes()...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// knownTypes lists every kind with its list kind.
func knownTypes() []runtime.Object {
	return []runtime.Object{
		&IPAddressPool{}, &IPAddressPoolList{},
		&L2Advertisement{}, &L2AdvertisementList{},
		&BGPAdvertisement{}, &BGPAdvertisementList{},
		&BGPPeer{}, &BGPPeerList{},
		&BFDProfile{}, &BFDProfileList{},
		&Community{}, &CommunityList{},
		&ServiceL2Status{}, &ServiceL2StatusList{},
		&ServiceBGPStatus{}, &ServiceBGPStatusList{},
		&ConfigurationState{}, &ConfigurationStateList{},
	}
}
