package bgp

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Speaker is what the speaker's event loop needs from a BGP implementation.
// *Server implements it; bgptest.Fake implements it for tests of callers.
//
// All methods are safe for concurrent use. SetPeers and SetPaths block
// until the change has been handed to gobgp (or ctx ends); they are
// level-based and idempotent, so a caller may repeat them after an error.
type Speaker interface {
	// SetPeers makes the configured sessions exactly peers, keyed by
	// PeerConfig.Name. Sessions whose configuration is unchanged are not
	// touched (they never flap); a changed session is deleted and added again.
	SetPeers(ctx context.Context, peers []PeerConfig) error
	// SetPaths makes the announced paths exactly paths (one per prefix):
	// the implementation diffs them against what it announces, sends the
	// paths that are new or changed and withdraws the prefixes that are
	// gone. Setting the same paths again sends nothing. Invalid paths are
	// reported in the error and left out; the valid ones are applied.
	SetPaths(ctx context.Context, paths []Path) (PathChanges, error)
	// Sessions returns a snapshot of every configured session, sorted by name.
	Sessions() []SessionState
	// Changed receives a value (capacity 1, never blocks the sender) when the
	// BGP or BFD state of a session changes. Read Sessions after a receive.
	Changed() <-chan struct{}
}

// DynamicASN selects how the peer's ASN is learned when PeerConfig.PeerASN is 0.
type DynamicASN uint8

const (
	// DynamicASNNone means PeerConfig.PeerASN must be set.
	DynamicASNNone DynamicASN = iota
	// DynamicASNInternal means the peer uses our ASN (iBGP).
	DynamicASNInternal
	// DynamicASNExternal accepts any ASN other than ours (eBGP). gobgp cannot
	// refuse our own ASN in the OPEN, so a session that comes up with it is
	// reset at once by the server loop.
	DynamicASNExternal
)

// String returns the lower-case name of d.
func (d DynamicASN) String() string {
	switch d {
	case DynamicASNNone:
		return "none"
	case DynamicASNInternal:
		return "internal"
	case DynamicASNExternal:
		return "external"
	}
	return "unknown"
}

// PeerConfig is one BGP session. Name (the BGPPeer object's name) is the key:
// changing any other field, the address included, replaces the session.
// Addresses (and interfaces) must still be unique across peers because
// gobgp keys neighbors by address.
type PeerConfig struct {
	// Name identifies the session; Path.Peers refers to it.
	Name string
	// MyASN is the local ASN used on this session.
	MyASN uint32
	// PeerASN is the remote ASN; 0 requires DynamicASN other than None.
	PeerASN uint32
	// DynamicASN selects how the peer ASN is learned when PeerASN is 0.
	DynamicASN DynamicASN
	// Address is the router's address (a zone is allowed for link-local).
	// Exactly one of Address and Interface is set.
	Address netip.Addr
	// Interface makes the session unnumbered: the router is the only IPv6
	// link-local neighbour on this interface (a point-to-point link), found
	// in the kernel's neighbour table (see Links). The session runs between
	// both link-local addresses and carries both families; IPv4 prefixes
	// go with our link-local address as next hop (RFC 8950). Not with
	// SourceAddress, EBGPMultiHop, IPv4NextHop, IPv6NextHop or BFD.
	Interface string
	// Port is the router's TCP port; 0 means 179.
	Port uint16
	// SourceAddress is the optional local address of the session.
	SourceAddress netip.Addr
	// HoldTime is the proposed hold time (whole seconds, 0 or >= 3 s).
	// For 0, which gobgp cannot send, the largest hold time (65535 s) is
	// proposed: the router's value is then used, 0 included.
	HoldTime time.Duration
	// KeepaliveTime is the keepalive interval (whole seconds, < HoldTime);
	// 0 means HoldTime/3.
	KeepaliveTime time.Duration
	// ConnectTime is the interval between connection attempts (whole
	// seconds); 0 means 5 s. gobgp never retries faster than every 2 s.
	ConnectTime time.Duration
	// RouterID must be unset or equal to Config.RouterID: gobgp uses one
	// router ID for all sessions.
	RouterID netip.Addr
	// EBGPMultiHop lets an eBGP session cross routers (TTL 255 instead of 1).
	EBGPMultiHop bool
	// Password enables TCP MD5 signatures (RFC 2385) with this key.
	Password string
	// GracefulRestart advertises the graceful restart capability (RFC 4724)
	// so that the router keeps our routes while the speaker restarts.
	GracefulRestart bool
	// BFD enables single-hop BFD (RFC 5881) for the session; nil disables it.
	BFD *BFDConfig
	// IPv6NextHop, on an IPv4 session, is the next hop sent with IPv6
	// prefixes and enables the IPv6 unicast family on it. Unset: IPv6 prefixes
	// are not sent over an IPv4 session.
	IPv6NextHop netip.Addr
	// IPv4NextHop, on an IPv6 session, is the next hop sent with IPv4
	// prefixes and enables the IPv4 unicast family on it. Unset: IPv4 prefixes
	// are not sent over an IPv6 session.
	IPv4NextHop netip.Addr
}

// BFDConfig tunes the BFD session of a peer. Zero fields take defaults
// (300 ms intervals, multiplier 3). BFDSupports reports which fields gobgp
// cannot honour.
type BFDConfig struct {
	// ReceiveInterval is the required minimum receive interval.
	ReceiveInterval time.Duration
	// TransmitInterval is the desired minimum transmit interval.
	TransmitInterval time.Duration
	// DetectMultiplier is the number of missed packets that declare the
	// session down.
	DetectMultiplier uint8
	// PassiveMode (wait for the peer to send first) is not supported by gobgp.
	PassiveMode bool
	// MinimumTTL (accepted incoming TTL) is not supported by gobgp, which
	// sends with TTL 255 but never checks the TTL it receives.
	MinimumTTL uint8
	// EchoMode is not supported by gobgp.
	EchoMode bool
	// EchoInterval is not supported by gobgp.
	EchoInterval time.Duration
}

// PathChanges counts what a SetPaths call sent.
type PathChanges struct {
	// Announced counts prefixes announced or re-announced with new
	// attributes.
	Announced int
	// Withdrawn counts prefixes withdrawn.
	Withdrawn int
}

// LargeCommunity is a BGP large community (RFC 8092), written ASN:Data1:Data2.
type LargeCommunity struct {
	// GlobalAdmin is the ASN part.
	GlobalAdmin uint32
	// LocalData1 is the first local data part.
	LocalData1 uint32
	// LocalData2 is the second local data part.
	LocalData2 uint32
}

// Path is what is announced for one prefix.
type Path struct {
	// Prefix is announced as is (host routes /32 and /128, or aggregates).
	Prefix netip.Prefix
	// Peers names the sessions that receive the prefix; empty means all.
	// Names of sessions that do not exist are ignored.
	Peers []string
	// LocalPref is sent to iBGP peers only; 0 means unset (gobgp then sends 100).
	LocalPref uint32
	// Communities are standard communities, A:B encoded as A<<16|B.
	Communities []uint32
	// LargeCommunities are large communities.
	LargeCommunities []LargeCommunity
	// GracefulShutdown marks the path for a graceful shutdown (RFC 8326):
	// it is sent with the GRACEFUL_SHUTDOWN community (65535:0) and, to
	// iBGP peers, LOCAL_PREF 0, so routers prefer other paths while this
	// one still forwards.
	GracefulShutdown bool
	// Weight, when non-zero, attaches the link-bandwidth extended community
	// (draft-ietf-idr-link-bandwidth) carrying Weight × BandwidthPerWeight:
	// a router doing weighted multipath over the nodes announcing the
	// prefix gives each a share of the traffic proportional to its weight.
	// Changing it re-announces the path; it is never withdrawn for it.
	Weight uint32
	// WeightAS is the community's 2-octet AS field: the announcing AS, or
	// ASTrans when that needs 4 octets. Receivers use only the bandwidth.
	WeightAS uint16
}

// CommunityGracefulShutdown is the well-known GRACEFUL_SHUTDOWN community
// (RFC 8326), 65535:0.
const CommunityGracefulShutdown uint32 = 0xFFFF0000

// BandwidthPerWeight is the link bandwidth, in bytes per second, that one
// unit of Path.Weight stands for: 1 Mbit/s. FRR converts the community's
// bandwidth to whole Mbit/s and derives next-hop weights from the ratios,
// so any unit of at least 1 Mbit/s keeps weights proportional (a smaller
// one rounds to 0). Weight × 125,000 is exact in float32, the community's
// format, up to 1,073; beyond, within 1 part in 10^7.
const BandwidthPerWeight = 125_000

// ASTrans is the 2-octet AS that stands for a 4-octet AS (RFC 6793).
const ASTrans = 23456

// State is the state of a BGP session's finite state machine (RFC 4271 §8).
type State uint8

const (
	// StateUnknown is reported before gobgp has reported the session.
	StateUnknown State = iota
	// StateIdle refuses connections (initial state, or after a reset).
	StateIdle
	// StateConnect waits for the TCP connection.
	StateConnect
	// StateActive retries the TCP connection.
	StateActive
	// StateOpenSent has sent OPEN and waits for the peer's.
	StateOpenSent
	// StateOpenConfirm waits for the first KEEPALIVE.
	StateOpenConfirm
	// StateEstablished exchanges routes.
	StateEstablished
)

// String returns the RFC name of s.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateConnect:
		return "Connect"
	case StateActive:
		return "Active"
	case StateOpenSent:
		return "OpenSent"
	case StateOpenConfirm:
		return "OpenConfirm"
	case StateEstablished:
		return "Established"
	}
	return "Unknown"
}

// BFDState is the state of a session's BFD (RFC 5880 §4.1).
type BFDState uint8

const (
	// BFDDisabled means the session has no BFD.
	BFDDisabled BFDState = iota
	// BFDAdminDown is administratively down.
	BFDAdminDown
	// BFDDown has no working BFD session.
	BFDDown
	// BFDInit is coming up.
	BFDInit
	// BFDUp detects failures.
	BFDUp
)

// String returns the name of s.
func (s BFDState) String() string {
	switch s {
	case BFDDisabled:
		return "Disabled"
	case BFDAdminDown:
		return "AdminDown"
	case BFDDown:
		return "Down"
	case BFDInit:
		return "Init"
	case BFDUp:
		return "Up"
	}
	return "Unknown"
}

// SessionState describes one configured session.
type SessionState struct {
	// Name is PeerConfig.Name.
	Name string
	// Address is PeerConfig.Address; for an unnumbered session, the
	// router's link-local address (zone: the interface) once it is found,
	// invalid before.
	Address netip.Addr
	// Interface is PeerConfig.Interface.
	Interface string
	// State is the BGP state.
	State State
	// BFD is the BFD state, BFDDisabled without BFD.
	BFD BFDState
	// PeerASN is the ASN the peer announced (0 before the first OPEN when
	// learned dynamically).
	PeerASN uint32
	// PrefixesSent counts the prefixes this session carries while it is
	// Established (0 otherwise).
	PrefixesSent int
	// EstablishedAt is when the session last reached Established (gobgp
	// keeps whole seconds); zero unless State is Established. Uptime is
	// time.Since(EstablishedAt).
	EstablishedAt time.Time
	// LastError is gobgp's reason for the last disconnection, if any.
	LastError string
}

var (
	// ErrStopped is returned by calls made after Run has returned.
	ErrStopped = errors.New("bgp server stopped")
	// ErrInvalidConfig wraps every configuration error from New, SetPeers,
	// SetPath and the Validate functions.
	ErrInvalidConfig = errors.New("invalid bgp configuration")
	// ErrUnsupported wraps configuration errors for settings gobgp cannot
	// honour (it also wraps ErrInvalidConfig).
	ErrUnsupported = errors.New("not supported by gobgp")
)
