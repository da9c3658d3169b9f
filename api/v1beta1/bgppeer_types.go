package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DynamicASNMode accepts a peer's ASN without naming it.
// +kubebuilder:validation:Enum=internal;external
type DynamicASNMode string

const (
	// DynamicASNInternal expects the peer's ASN to equal myASN (iBGP).
	DynamicASNInternal DynamicASNMode = "internal"
	// DynamicASNExternal accepts any ASN other than myASN (eBGP).
	DynamicASNExternal DynamicASNMode = "external"
)

// BGPPeerSpec describes one BGP session that speakers open to a router.
//
// +kubebuilder:validation:XValidation:rule="has(self.peerASN) != has(self.dynamicASN)",message="exactly one of peerASN and dynamicASN must be set"
// +kubebuilder:validation:XValidation:rule="has(self.peerAddress) != has(self.interface)",message="exactly one of peerAddress and interface must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.interface) || !has(self.ebgpMultiHop) || !self.ebgpMultiHop",message="interface cannot be used with ebgpMultiHop"
// +kubebuilder:validation:XValidation:rule="!has(self.interface) || !has(self.sourceAddress)",message="interface cannot be used with sourceAddress"
// +kubebuilder:validation:XValidation:rule="!(has(self.password) && has(self.passwordSecret))",message="password and passwordSecret are mutually exclusive"
// +kubebuilder:validation:XValidation:rule="!has(self.keepaliveTime) || !has(self.holdTime) || duration(self.keepaliveTime) <= duration(self.holdTime)",message="keepaliveTime must not exceed holdTime"
type BGPPeerSpec struct {
	// MyASN is the speakers' autonomous system number.
	// +kubebuilder:validation:Minimum=1
	MyASN uint32 `json:"myASN"`

	// LocalASN is the ASN this session presents to the router instead of
	// myASN (FRR's "local-as ASN no-prepend replace-as"): the OPEN message
	// and the AS path the router receives carry localASN only. It serves
	// routers that expect a different ASN from each cluster, or an ASN
	// migration. eBGP only: it must differ from myASN and from the router's
	// ASN, and dynamicASN internal cannot be used with it.
	// +kubebuilder:validation:Minimum=1
	// +optional
	LocalASN uint32 `json:"localASN,omitempty"`

	// PeerASN is the router's autonomous system number. Exactly one of
	// peerASN and dynamicASN is set.
	// +kubebuilder:validation:Minimum=1
	// +optional
	PeerASN uint32 `json:"peerASN,omitempty"`

	// DynamicASN accepts the router's ASN as "internal" (equal to myASN)
	// or "external" (any other) instead of naming it.
	// +optional
	DynamicASN DynamicASNMode `json:"dynamicASN,omitempty"`

	// PeerAddress is the router's IPv4 or IPv6 address. Exactly one of
	// peerAddress and interface is set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	PeerAddress string `json:"peerAddress,omitempty"`

	// Interface opens an unnumbered session over this node interface: the
	// router is the only IPv6 link-local neighbour on it (a point-to-point
	// link, FRR's "neighbor IFNAME interface"), and the session runs
	// between both link-local addresses. IPv4 prefixes are sent with the
	// node's IPv6 link-local next hop (RFC 8950, formerly RFC 5549), so the
	// router must accept IPv4 routes over IPv6 next hops. While the
	// session is down the speaker sends router advertisements (router
	// lifetime 0, so it never becomes a default router) and router
	// solicitations on the interface: routers learn an unnumbered
	// neighbour from its advertisements, and answer solicitations with
	// theirs. Exactly one of peerAddress and interface is set; not with
	// sourceAddress, ebgpMultiHop or (not yet) bfdProfile.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[^/:\s]+$`
	// +optional
	Interface string `json:"interface,omitempty"`

	// SourceAddress is the local address the session is opened from.
	// Default: chosen by the node's routing table.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	SourceAddress string `json:"sourceAddress,omitempty"`

	// PeerPort is the router's TCP port. Default 179.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:default=179
	// +optional
	PeerPort uint16 `json:"peerPort,omitempty"`

	// HoldTime is the BGP hold time: 0 or at least 3s. Default 90s. The
	// session uses the smaller of this and the router's hold time. 0 (no
	// keepalives, no hold timer) takes effect only when the router's hold
	// time is 0 too: gobgp cannot propose 0, so Pylon then proposes the
	// largest hold time (65535s) and the router's value wins.
	// +kubebuilder:validation:Type=string
	// +optional
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the BGP keepalive interval, at most holdTime.
	// Default holdTime/3.
	// +kubebuilder:validation:Type=string
	// +optional
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// ConnectTime is the time between connection attempts. Default 5s.
	// +kubebuilder:validation:Type=string
	// +optional
	ConnectTime *metav1.Duration `json:"connectTime,omitempty"`

	// RouterID is the BGP router ID (an IPv4 address). Default: the node's
	// IPv4 address.
	// +kubebuilder:validation:MaxLength=15
	// +optional
	RouterID string `json:"routerID,omitempty"`

	// NodeSelectors limits the nodes that open this session. Empty means
	// all nodes.
	// +listType=atomic
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Password enables TCP MD5 authentication with this password. Prefer
	// passwordSecret.
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Password string `json:"password,omitempty"`

	// PasswordSecret names a Secret in Pylon's namespace whose "password"
	// key holds the TCP MD5 password.
	// +optional
	PasswordSecret *corev1.SecretReference `json:"passwordSecret,omitempty"`

	// BFDProfile names the BFDProfile used for fast failure detection on
	// this session. Empty disables BFD.
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`

	// EBGPMultiHop allows an eBGP peer that is not directly connected.
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`

	// DualStackAddressFamily carries both address families over this
	// session: IPv6 prefixes over an IPv4 session (next hop: the node's
	// IPv6 address) and the reverse. By default a session carries only the
	// prefixes of its own family, so a router peering over both families
	// gets one path per node and prefix.
	// +optional
	DualStackAddressFamily bool `json:"dualStackAddressFamily,omitempty"`

	// EnableGracefulRestart advertises the BGP graceful-restart capability,
	// so the router keeps Pylon's routes while a speaker restarts.
	// +optional
	EnableGracefulRestart bool `json:"enableGracefulRestart,omitempty"`
}

// BGPPeer is a router the speakers open BGP sessions to.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bgppeer,categories=pylon
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="Interface",type=string,JSONPath=`.spec.interface`,priority=10
// +kubebuilder:printcolumn:name="ASN",type=integer,JSONPath=`.spec.peerASN`
// +kubebuilder:printcolumn:name="Dynamic ASN",type=string,JSONPath=`.spec.dynamicASN`,priority=10
// +kubebuilder:printcolumn:name="My ASN",type=integer,JSONPath=`.spec.myASN`
// +kubebuilder:printcolumn:name="BFD Profile",type=string,JSONPath=`.spec.bfdProfile`
// +kubebuilder:printcolumn:name="Multi Hops",type=boolean,JSONPath=`.spec.ebgpMultiHop`,priority=10
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BGPPeerSpec `json:"spec"`
}

// BGPPeerList is a list of BGPPeer.
//
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}
