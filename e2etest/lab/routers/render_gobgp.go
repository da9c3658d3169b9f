package routers

import (
	"errors"
	"fmt"
)

// ErrGoBGPUnsupported is returned when a configuration asks for something
// gobgpd 3.10 cannot do (BFD, TCP MD5 on a listen range).
var ErrGoBGPUnsupported = errors.New("not supported by gobgpd")

// GoBGPConfig renders gobgpd.toml for c: static neighbours, and a peer
// group with a dynamic-neighbor prefix per listen range (gobgpd is passive
// towards those). Received paths only fill gobgpd's RIB: without zebra,
// which crashes against FRR 8.4's, nothing reaches a kernel table. It is
// pure.
//
// gobgpd 3.10 has no BFD, and sets no TCP MD5 key for a dynamic-neighbor
// prefix (signed SYNs are dropped as TCPMD5Unexpected): both are errors;
// for MD5 use one Neighbor per address. A peer group without peer-as (ASN
// 0) accepts any AS.
func GoBGPConfig(c BGPConfig) (string, error) {
	if c.UsesBFD() {
		return "", fmt.Errorf("gobgpd configuration: BFD: %w", ErrGoBGPUnsupported)
	}
	for _, r := range c.Listen {
		if r.Password != "" {
			return "", fmt.Errorf("gobgpd configuration: TCP MD5 on listen range %s: %w", r.Prefix, ErrGoBGPUnsupported)
		}
	}
	c = c.withDefaults()
	var l lines
	l.add("[global.config]")
	l.add("  as = %d", c.ASN)
	if c.RouterID.IsValid() {
		l.add("  router-id = %q", c.RouterID)
	}
	l.add("[global.use-multiple-paths.config]")
	l.add("  enabled = true")
	for _, n := range c.Neighbors {
		fams := []string{family(n.Addr)}
		if n.BothFamilies {
			fams = []string{"ipv4", "ipv6"}
		}
		l.add("[[neighbors]]")
		l.add("  [neighbors.config]")
		l.add("    neighbor-address = %q", n.Addr)
		goBGPPeer(&l, "neighbors", c, n.ASN, n.Password, fams)
		if n.Passive {
			l.add("  [neighbors.transport.config]")
			l.add("    passive-mode = true")
		}
		if n.Multihop > 0 {
			l.add("  [neighbors.ebgp-multihop.config]")
			l.add("    enabled = true")
			l.add("    multihop-ttl = %d", n.Multihop)
		}
	}
	for i, r := range c.Listen {
		l.add("[[peer-groups]]")
		l.add("  [peer-groups.config]")
		l.add("    peer-group-name = \"range%d\"", i)
		goBGPPeer(&l, "peer-groups", c, r.ASN, "", []string{family(r.Prefix.Addr())})
		l.add("[[dynamic-neighbors]]")
		l.add("  [dynamic-neighbors.config]")
		l.add("    prefix = %q", r.Prefix.Masked())
		l.add("    peer-group = \"range%d\"", i)
	}
	return l.String(), nil
}

// goBGPPeer renders the rest of a neighbour or peer group (kind is the
// table name) after its config table's first key.
func goBGPPeer(l *lines, kind string, c BGPConfig, asn uint32, password string, fams []string) {
	if asn != 0 {
		l.add("    peer-as = %d", asn)
	}
	if password != "" {
		l.add("    auth-password = %q", password)
	}
	l.add("  [%s.timers.config]", kind)
	l.add("    hold-time = %d", int(c.HoldTime.Seconds()))
	l.add("    keepalive-interval = %d", int(c.Keepalive.Seconds()))
	l.add("    connect-retry = 1")
	if c.GracefulRestart {
		l.add("  [%s.graceful-restart.config]", kind)
		l.add("    enabled = true")
	}
	for _, f := range fams {
		l.add("  [[%s.afi-safis]]", kind)
		l.add("    [%s.afi-safis.config]", kind)
		l.add("      afi-safi-name = \"%s-unicast\"", f)
		if c.GracefulRestart {
			l.add("    [%s.afi-safis.mp-graceful-restart.config]", kind)
			l.add("      enabled = true")
		}
	}
}
