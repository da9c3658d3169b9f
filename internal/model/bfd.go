package model

import (
	"time"

	"github.com/pylonlb/pylon/api/v1beta1"
)

const kindBFD = "BFDProfile"

// BFD defaults, as users of other BGP load balancers know them.
const (
	defaultBFDInterval   = 300 * time.Millisecond
	defaultBFDMultiplier = 3
)

// convertBFDProfiles validates BFD profiles. gobgp's BFD implements the
// single-hop asynchronous mode (RFC 5880/5881) only, so echo, passive mode
// and a minimum TTL are rejected rather than silently ignored.
func convertBFDProfiles(c *collector, in []v1beta1.BFDProfile) []*BFDProfile {
	in = sortedByName(in, func(o *v1beta1.BFDProfile) string { return o.Name })
	var out []*BFDProfile
	seen := map[string]bool{}
	for i := range in {
		p := &in[i]
		if seen[p.Name] {
			c.add(kindBFD, p.Name, "metadata.name", "duplicate profile name")
			continue
		}
		seen[p.Name] = true
		out = append(out, convertBFDProfile(c, p))
	}
	return out
}

// convertBFDProfile validates one profile and applies defaults.
func convertBFDProfile(c *collector, p *v1beta1.BFDProfile) *BFDProfile {
	s := p.Spec
	const unsupported = "is not supported: Pylon's BFD (gobgp) runs single-hop asynchronous mode only"
	if s.EchoMode != nil && *s.EchoMode {
		c.add(kindBFD, p.Name, "spec.echoMode", "echo mode %s", unsupported)
	}
	if s.EchoInterval != nil {
		c.add(kindBFD, p.Name, "spec.echoInterval", "echo mode %s; remove the field", unsupported)
	}
	if s.PassiveMode != nil && *s.PassiveMode {
		c.add(kindBFD, p.Name, "spec.passiveMode", "passive mode %s", unsupported)
	}
	if s.MinimumTTL != nil {
		c.add(kindBFD, p.Name, "spec.minimumTtl", "a minimum TTL applies to multi-hop BFD, which %s; single-hop packets always carry TTL 255", unsupported)
	}
	return &BFDProfile{
		Name:             p.Name,
		ReceiveInterval:  bfdInterval(c, p.Name, "spec.receiveInterval", s.ReceiveInterval),
		TransmitInterval: bfdInterval(c, p.Name, "spec.transmitInterval", s.TransmitInterval),
		DetectMultiplier: bfdMultiplier(c, p.Name, s.DetectMultiplier),
	}
}

// bfdInterval validates an interval in milliseconds (10-60000).
func bfdInterval(c *collector, name, field string, ms *uint32) time.Duration {
	if ms == nil {
		return defaultBFDInterval
	}
	if *ms < 10 || *ms > 60000 {
		c.add(kindBFD, name, field, "must be between 10 and 60000 milliseconds, got %d", *ms)
	}
	return time.Duration(*ms) * time.Millisecond
}

// bfdMultiplier validates the detection multiplier (2-255).
func bfdMultiplier(c *collector, name string, m *uint32) uint8 {
	if m == nil {
		return defaultBFDMultiplier
	}
	if *m < 2 || *m > 255 {
		c.add(kindBFD, name, "spec.detectMultiplier", "must be between 2 and 255, got %d", *m)
		return defaultBFDMultiplier
	}
	return uint8(*m)
}
