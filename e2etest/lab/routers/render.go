package routers

import "fmt"

// FRRZebra renders zebra.conf. Next hops may resolve through the default
// route, which multi-hop sessions (router2) need: by default FRR refuses.
func FRRZebra(hostname string) string {
	return "hostname " + hostname + "\nip nht resolve-via-default\nipv6 nht resolve-via-default\n"
}

// FRRBGPD renders bgpd.conf for c. It is pure.
func FRRBGPD(c BGPConfig) string {
	c = c.withDefaults()
	var l lines
	l.add("router bgp %d", c.ASN)
	if c.RouterID.IsValid() {
		l.add(" bgp router-id %s", c.RouterID)
	}
	l.add(" no bgp ebgp-requires-policy")
	l.add(" no bgp default ipv4-unicast")
	l.add(" no bgp network import-check")
	l.add(" bgp log-neighbor-changes")
	l.add(" bgp bestpath as-path multipath-relax")
	if c.GracefulRestart {
		l.add(" bgp graceful-restart")
	}
	l.add(" timers bgp %d %d", int(c.Keepalive.Seconds()), int(c.HoldTime.Seconds()))
	for _, n := range c.Neighbors {
		frrPeer(&l, n.Addr.String(), n.ASN, n.Password, n.BFD, c.GracefulRestart)
		if n.Multihop > 0 {
			l.add(" neighbor %s ebgp-multihop %d", n.Addr, n.Multihop)
		}
		if n.Passive {
			l.add(" neighbor %s passive", n.Addr)
		}
	}
	for i, r := range c.Listen {
		g := fmt.Sprintf("RANGE%d", i)
		l.add(" neighbor %s peer-group", g)
		frrPeer(&l, g, r.ASN, r.Password, r.BFD, c.GracefulRestart)
		l.add(" bgp listen range %s peer-group %s", r.Prefix.Masked(), g)
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		l.add(" address-family %s unicast", fam)
		for _, n := range c.Neighbors {
			if family(n.Addr) == fam || n.BothFamilies {
				l.add("  neighbor %s activate", n.Addr)
			}
		}
		for i, r := range c.Listen {
			if family(r.Prefix.Addr()) == fam {
				l.add("  neighbor RANGE%d activate", i)
			}
		}
		l.add("  maximum-paths %d", c.MaxPaths)
		l.add("  maximum-paths ibgp %d", c.MaxPaths)
		l.add(" exit-address-family")
	}
	l.add("exit")
	return l.String() + c.ExtraFRR
}

// frrPeer renders a neighbour's (or a peer group's) common lines. With
// both BFD and graceful restart, FRR must be told to look at the BFD
// Control Plane Independent bit: gobgp's BFD lives in the speaker's
// process (C bit 0), so its BFD session ends when the speaker restarts,
// and without "check-control-plane-failure" FRR treats that as a failure
// and drops the routes graceful restart should keep.
func frrPeer(l *lines, name string, asn uint32, password string, bfd, gracefulRestart bool) {
	if asn == 0 {
		l.add(" neighbor %s remote-as external", name)
	} else {
		l.add(" neighbor %s remote-as %d", name, asn)
	}
	if password != "" {
		l.add(" neighbor %s password %s", name, password)
	}
	if bfd {
		l.add(" neighbor %s bfd", name)
		l.add(" neighbor %s bfd profile lab", name)
		if gracefulRestart {
			l.add(" neighbor %s bfd check-control-plane-failure", name)
		}
	}
}

// FRRBFDD renders bfdd.conf with the "lab" profile. It is pure.
func FRRBFDD(c BGPConfig) string {
	c = c.withDefaults()
	var l lines
	l.add("bfd")
	l.add(" profile lab")
	l.add("  receive-interval %d", c.BFD.RxInterval.Milliseconds())
	l.add("  transmit-interval %d", c.BFD.TxInterval.Milliseconds())
	l.add("  detect-multiplier %d", c.BFD.Multiplier)
	l.add(" exit")
	l.add("exit")
	return l.String()
}

// BIRDConfig renders bird.conf for c: routes learnt by BGP go to the
// namespace's kernel table (ECMP merged), nothing is exported to peers. It
// is pure.
func BIRDConfig(c BGPConfig) string {
	c = c.withDefaults()
	var l lines
	l.add("log stderr all;")
	if c.RouterID.IsValid() {
		l.add("router id %s;", c.RouterID)
	}
	l.add("protocol device { scan time 10; }")
	for _, fam := range []string{"ipv4", "ipv6"} {
		l.add("protocol kernel kernel%s { %s { import none; export all; }; merge paths on limit %d; }", fam[3:], fam, c.MaxPaths)
	}
	if c.UsesBFD() {
		b := c.BFD
		l.add("protocol bfd { interface \"*\" { min rx interval %d ms; min tx interval %d ms; multiplier %d; }; "+
			"multihop { min rx interval %d ms; min tx interval %d ms; multiplier %d; }; }",
			b.RxInterval.Milliseconds(), b.TxInterval.Milliseconds(), b.Multiplier,
			b.RxInterval.Milliseconds(), b.TxInterval.Milliseconds(), b.Multiplier)
	}
	// Short error wait: a session that failed once (e.g. BFD flapping while
	// both ends start) comes back in a second, not BIRD's default minute.
	l.add("template bgp labpeer { local as %d; hold time %d; keepalive time %d; connect retry time 1; error wait time 1, 5;%s }",
		c.ASN, int(c.HoldTime.Seconds()), int(c.Keepalive.Seconds()), map[bool]string{true: " graceful restart on;"}[c.GracefulRestart])
	for i, n := range c.Neighbors {
		fams := []string{family(n.Addr)}
		if n.BothFamilies {
			fams = []string{"ipv4", "ipv6"}
		}
		opts := birdOpts(n.Password, n.BFD) + map[bool]string{true: " passive on;"}[n.Passive]
		if n.Multihop > 0 {
			opts += fmt.Sprintf(" multihop %d;", n.Multihop)
		}
		l.add("protocol bgp peer%d from labpeer { neighbor %s %s;%s%s }", i+1, n.Addr, birdAS(n.ASN), opts, birdChannels(fams))
	}
	for i, r := range c.Listen {
		l.add("protocol bgp range%d from labpeer { neighbor range %s %s; dynamic name \"dyn%d_\";%s%s }",
			i+1, r.Prefix.Masked(), birdAS(r.ASN), i+1, birdOpts(r.Password, r.BFD), birdChannels([]string{family(r.Prefix.Addr())}))
	}
	return l.String() + c.ExtraBIRD
}

func birdAS(asn uint32) string {
	if asn == 0 {
		return "external"
	}
	return fmt.Sprintf("as %d", asn)
}

func birdOpts(password string, bfd bool) string {
	s := ""
	if password != "" {
		s += fmt.Sprintf(" password %q;", password)
	}
	if bfd {
		s += " bfd on;"
	}
	return s
}

func birdChannels(fams []string) string {
	s := ""
	for _, f := range fams {
		s += fmt.Sprintf(" %s { import all; export none; };", f)
	}
	return s
}
