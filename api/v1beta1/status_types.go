package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceL2StatusStatus says which node answers ARP/NDP for a Service's
// addresses.
type ServiceL2StatusStatus struct {
	// ServiceName and ServiceNamespace identify the Service.
	ServiceName      string `json:"serviceName,omitempty"`
	ServiceNamespace string `json:"serviceNamespace,omitempty"`
	// Node is the node answering for the addresses.
	Node string `json:"node,omitempty"`
	// IPs are the addresses the node announces for the Service.
	// +listType=set
	IPs []string `json:"ips,omitempty"`
	// Interfaces are the node's interfaces answering; empty means every
	// usable interface.
	// +listType=set
	Interfaces []string `json:"interfaces,omitempty"`
	// OffSubnetIPs are the addresses among IPs on no subnet of the node's
	// allowed interfaces, because no node that may answer for them has
	// one there: the node answers for them on every allowed interface of
	// their family, which reaches clients only when the network brings
	// the address to that segment (a route, proxy ARP).
	// +listType=set
	OffSubnetIPs []string `json:"offSubnetIPs,omitempty"`
	// Since is when the node took the addresses over.
	Since metav1.Time `json:"since,omitempty"`
}

// ServiceL2Status reports who announces a Service in L2 mode. It lives in
// the Service's namespace, is owned by the Service (so it is deleted with
// it) and is written by the speaker that owns the addresses.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=l2status,categories=pylon
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.status.serviceName`
// +kubebuilder:printcolumn:name="IPs",type=string,JSONPath=`.status.ips`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.status.node`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.status.interfaces`
// +kubebuilder:printcolumn:name="Since",type=date,JSONPath=`.status.since`
type ServiceL2Status struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ServiceL2StatusStatus `json:"status,omitempty"`
}

// ServiceL2StatusList is a list of ServiceL2Status.
//
// +kubebuilder:object:root=true
type ServiceL2StatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceL2Status `json:"items"`
}

// BGPSessionStatus is one BGP session of a node.
type BGPSessionStatus struct {
	// Peer is the BGPPeer's name.
	Peer string `json:"peer"`
	// Address is the router's address; for an unnumbered session (a
	// BGPPeer with interface) its link-local address with the interface as
	// zone (fe80::1%eth1) once found, empty before.
	Address string `json:"address,omitempty"`
	// State is the BGP state (Idle, Connect, Active, OpenSent,
	// OpenConfirm, Established).
	State string `json:"state"`
	// BFD is the BFD state (Disabled, Down, Init, Up, AdminDown).
	BFD string `json:"bfd,omitempty"`
	// PrefixesSent counts the prefixes the session carries.
	PrefixesSent int `json:"prefixesSent,omitempty"`
	// EstablishedSince is when the session last came up.
	EstablishedSince *metav1.Time `json:"establishedSince,omitempty"`
	// LastError is the reason of the last disconnection.
	LastError string `json:"lastError,omitempty"`
}

// BGPServiceAnnouncement is what a node announces for one Service.
type BGPServiceAnnouncement struct {
	// Service is "namespace/name".
	Service string `json:"service"`
	// Prefixes announced for it.
	// +listType=set
	Prefixes []string `json:"prefixes"`
	// Peers it is announced to.
	// +listType=set
	Peers []string `json:"peers,omitempty"`
	// Since is when the node's speaker began announcing these prefixes
	// (at the latest, when it started).
	Since *metav1.Time `json:"since,omitempty"`
}

// ServiceBGPStatusStatus is one node's BGP view.
type ServiceBGPStatusStatus struct {
	// Node is the node.
	Node string `json:"node"`
	// Sessions are the node's BGP sessions.
	// +listType=map
	// +listMapKey=peer
	Sessions []BGPSessionStatus `json:"sessions,omitempty"`
	// SessionsEstablished counts Established sessions.
	SessionsEstablished int `json:"sessionsEstablished"`
	// PrefixCount is the number of prefixes the node announces.
	PrefixCount int `json:"prefixCount"`
	// Services lists what the node announces, by Service.
	// +listType=map
	// +listMapKey=service
	Services []BGPServiceAnnouncement `json:"services,omitempty"`
}

// ServiceBGPStatus reports one node's BGP sessions and the Services it
// announces. There is one per node (named after it, owned by the Node), in
// Pylon's namespace, written by that node's speaker at most about once a
// second: status grows with nodes, not with Services × nodes.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bgpstatus,categories=pylon
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.status.node`
// +kubebuilder:printcolumn:name="Sessions Up",type=integer,JSONPath=`.status.sessionsEstablished`
// +kubebuilder:printcolumn:name="Prefixes",type=integer,JSONPath=`.status.prefixCount`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.status.sessions[*].peer`,priority=10
// +kubebuilder:printcolumn:name="States",type=string,JSONPath=`.status.sessions[*].state`,priority=10
type ServiceBGPStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ServiceBGPStatusStatus `json:"status,omitempty"`
}

// ServiceBGPStatusList is a list of ServiceBGPStatus.
//
// +kubebuilder:object:root=true
type ServiceBGPStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceBGPStatus `json:"items"`
}

// ConfigurationStateStatus is one component's view of the configuration.
type ConfigurationStateStatus struct {
	// Component is "controller" or "speaker".
	Component string `json:"component"`
	// Node is the speaker's node (empty for the controller).
	Node string `json:"node,omitempty"`
	// Conditions: Valid (the newest configuration objects are valid and in
	// force) and Loaded (some valid configuration is in force); the
	// controller adds AddressesReserved (pools contain the network's own
	// addresses, which are never handed out) and ReservedAddressesInUse
	// (Services keep such addresses they held before).
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Error is the rejection of the newest configuration, when invalid.
	Error string `json:"error,omitempty"`
	// LastLoaded is when the configuration in force was loaded.
	LastLoaded *metav1.Time `json:"lastLoaded,omitempty"`
	// Interfaces are a speaker's usable L2 interfaces with their address
	// families and subnets, as it tells the other speakers for the L2
	// election (empty for the controller).
	// +listType=map
	// +listMapKey=name
	Interfaces []SpeakerInterface `json:"interfaces,omitempty"`
}

// SpeakerInterface is a usable L2 interface of a speaker's node.
type SpeakerInterface struct {
	// Name is the interface's name.
	Name string `json:"name"`
	// IPv4 and IPv6 are true when it has an address of the family.
	IPv4 bool `json:"ipv4,omitempty"`
	IPv6 bool `json:"ipv6,omitempty"`
	// Subnets are the prefixes of its addresses (link-local and host
	// addresses have none).
	Subnets []string `json:"subnets,omitempty"`
}

// ConfigurationState reports whether a component accepted the
// configuration. There is one per component (the controller, each
// speaker), in Pylon's namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=configstate,categories=pylon
// +kubebuilder:printcolumn:name="Component",type=string,JSONPath=`.status.component`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.status.node`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Last Loaded",type=date,JSONPath=`.status.lastLoaded`
// +kubebuilder:printcolumn:name="Error",type=string,JSONPath=`.status.error`,priority=10
type ConfigurationState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ConfigurationStateStatus `json:"status,omitempty"`
}

// ConfigurationStateList is a list of ConfigurationState.
//
// +kubebuilder:object:root=true
type ConfigurationStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ConfigurationState `json:"items"`
}
