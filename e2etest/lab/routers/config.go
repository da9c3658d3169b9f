// Package routers runs real BGP routers in lab namespaces, FRR (zebra,
// bgpd, bfdd), BIRD 2 and GoBGP (gobgpd), each instance with its own
// configuration, pid files and control sockets under a per-run directory,
// and reads back what they learnt: sessions, BGP tables (FRR's and gobgp's
// JSON, BIRD's text) and the namespace's kernel routing table (`ip -j
// route`; gobgpd, without zebra, installs nothing there).
//
// A [BGPConfig] renders to each router's configuration (pure functions),
// so a suite can run the same case against all of them. Both routers accept no
// route without a policy unless told: the configurations here import
// everything and export nothing, which is what a router facing Pylon's
// speakers needs.
package routers

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Neighbor is a statically configured BGP neighbour.
type Neighbor struct {
	Addr netip.Addr
	// ASN is the neighbour's AS; 0 means "any external AS".
	ASN uint32
	// Password enables TCP MD5 authentication.
	Password string
	// BFD enables BFD for the session (FRR: bfdd is started).
	BFD bool
	// Multihop is the eBGP multi-hop TTL (0: directly connected).
	Multihop int
	// Passive waits for the neighbour to connect.
	Passive bool
	// BothFamilies carries IPv4 and IPv6 over this one session.
	BothFamilies bool
}

// ListenRange accepts sessions from any address of Prefix (dynamic
// neighbours), e.g. every node of the LAN.
type ListenRange struct {
	Prefix netip.Prefix
	// ASN is the neighbours' AS; 0 means "any external AS".
	ASN      uint32
	Password string
	BFD      bool
}

// BFDTimers are the BFD intervals and detection multiplier.
type BFDTimers struct {
	RxInterval, TxInterval time.Duration
	Multiplier             int
}

// DefaultBFD detects a dead peer in 300 ms.
var DefaultBFD = BFDTimers{RxInterval: 100 * time.Millisecond, TxInterval: 100 * time.Millisecond, Multiplier: 3}

// BGPConfig is a router's BGP setup.
type BGPConfig struct {
	ASN       uint32
	RouterID  netip.Addr
	Neighbors []Neighbor
	Listen    []ListenRange
	// HoldTime and Keepalive default to 9 s and 3 s (short, for tests).
	HoldTime, Keepalive time.Duration
	// MaxPaths is the ECMP width (default 8).
	MaxPaths int
	// GracefulRestart enables the graceful restart capability.
	GracefulRestart bool
	// BFD sets the BFD timers of neighbours with BFD (default DefaultBFD).
	BFD BFDTimers
	// ExtraFRR and ExtraBIRD are appended verbatim to the rendered config.
	ExtraFRR, ExtraBIRD string
}

func (c BGPConfig) withDefaults() BGPConfig {
	if c.HoldTime == 0 {
		c.HoldTime = 9 * time.Second
	}
	if c.Keepalive == 0 {
		c.Keepalive = 3 * time.Second
	}
	if c.MaxPaths == 0 {
		c.MaxPaths = 8
	}
	if c.BFD == (BFDTimers{}) {
		c.BFD = DefaultBFD
	}
	return c
}

// UsesBFD reports whether any neighbour or range has BFD.
func (c BGPConfig) UsesBFD() bool {
	for _, n := range c.Neighbors {
		if n.BFD {
			return true
		}
	}
	for _, l := range c.Listen {
		if l.BFD {
			return true
		}
	}
	return false
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// lines is a small builder for configuration text.
type lines struct{ b strings.Builder }

func (l *lines) add(format string, args ...any) { fmt.Fprintf(&l.b, format+"\n", args...) }
func (l *lines) String() string                 { return l.b.String() }
