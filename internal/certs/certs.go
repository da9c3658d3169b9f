// Package certs gives Pylon's validating webhook a TLS identity without
// cert-manager: a self-signed CA and a serving certificate for the webhook
// Service, kept in one Secret, written to files for the webhook server and
// trusted by the API server through the caBundle of Pylon's
// ValidatingWebhookConfiguration.
//
// Decide and Issue are pure (Issue only draws random keys): given the
// stored Bundle, the time and the wanted Spec, Decide says whether to keep
// the certificates, refresh the trust bundle, renew the serving
// certificate or renew everything; Issue produces the new Bundle. Manager
// is the I/O around them.
//
// Rotation. The serving certificate is renewed when a third of its
// lifetime is left or when it lacks a wanted name; the CA likewise, and
// renewing the CA re-issues the serving certificate too. The trust bundle
// (the caBundle the API server uses) lists the current CA first and keeps
// every older CA until it expires, so replicas still serving a certificate
// of the old CA stay trusted while they pick up the new one. Each replica
// writes the new bundle into the webhook configuration before it serves a
// certificate of a new CA.
package certs

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Spec is what the certificates must be.
type Spec struct {
	// DNSNames and IPs are the names the serving certificate must hold.
	// A certificate holding more names is kept (so replicas started with
	// different extra names do not keep re-issuing); one lacking a name is
	// renewed.
	DNSNames []string
	IPs      []netip.Addr
	// Lifetimes of newly issued certificates.
	Lifetimes Lifetimes
}

// Lifetimes are the validity periods of newly issued certificates. A
// certificate is renewed when a third of its lifetime is left.
type Lifetimes struct {
	CA      time.Duration
	Serving time.Duration
}

// DefaultLifetimes returns a CA valid 3 years (renewed after 2) and
// serving certificates valid 1 year (renewed after 8 months).
func DefaultLifetimes() Lifetimes {
	const year = 365 * 24 * time.Hour
	return Lifetimes{CA: 3 * year, Serving: year}
}

// Validate checks the spec: at least one name, and a CA that lives at
// least as long as a serving certificate (else a serving certificate cut
// short at the CA's expiry would be renewed again at once).
func (s Spec) Validate() error {
	if len(s.DNSNames) == 0 && len(s.IPs) == 0 {
		return fmt.Errorf("certificate spec: no DNS name or IP address")
	}
	if s.Lifetimes.Serving < time.Minute || s.Lifetimes.CA < s.Lifetimes.Serving {
		return fmt.Errorf("certificate spec: serving lifetime %s must be at least 1m and at most the CA lifetime %s",
			s.Lifetimes.Serving, s.Lifetimes.CA)
	}
	for _, ip := range s.IPs {
		if !ip.IsValid() || ip.Zone() != "" {
			return fmt.Errorf("certificate spec: %q is not an IP address without zone", ip)
		}
	}
	return nil
}

// PEMPair is a PEM certificate and its PEM private key.
type PEMPair struct {
	Cert, Key []byte
}

// Bundle is everything the certificate Secret holds.
type Bundle struct {
	// CA is the current CA.
	CA PEMPair
	// Serving is the serving certificate, signed by CA.
	Serving PEMPair
	// Trust is the PEM bundle clients must trust: CA first, then older CAs
	// that have not expired yet.
	Trust []byte
}

// Action is what Decide asks for.
type Action int

// Actions, from the least to the most work.
const (
	// Keep: the bundle is current.
	Keep Action = iota
	// RefreshTrust: rebuild the trust bundle (a CA is missing from it or
	// an old one expired).
	RefreshTrust
	// RenewServing: issue a new serving certificate from the current CA.
	RenewServing
	// RenewAll: issue a new CA and a new serving certificate.
	RenewAll
)

// String names the action for logs.
func (a Action) String() string {
	switch a {
	case Keep:
		return "keep"
	case RefreshTrust:
		return "refresh-trust"
	case RenewServing:
		return "renew-serving"
	case RenewAll:
		return "renew-all"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is an action and why.
type Decision struct {
	Action Action
	Reason string
}

// Decide compares the stored bundle with the spec at time now.
func Decide(now time.Time, b Bundle, spec Spec) Decision {
	ca, _, err := parsePair(b.CA)
	if err == nil && !ca.IsCA {
		err = fmt.Errorf("certificate is not a CA")
	}
	if err != nil {
		return Decision{RenewAll, "no usable CA: " + err.Error()}
	}
	if left := ca.NotAfter.Sub(now); left < spec.Lifetimes.CA/3 {
		return Decision{RenewAll, fmt.Sprintf("CA expires at %s (%s left)", ca.NotAfter.UTC().Format(time.RFC3339), left.Round(time.Second))}
	}
	cert, _, err := parsePair(b.Serving)
	if err == nil {
		err = cert.CheckSignatureFrom(ca)
	}
	if err != nil {
		return Decision{RenewServing, "no usable serving certificate: " + err.Error()}
	}
	if left := cert.NotAfter.Sub(now); left < spec.Lifetimes.Serving/3 {
		return Decision{RenewServing, fmt.Sprintf("serving certificate expires at %s (%s left)", cert.NotAfter.UTC().Format(time.RFC3339), left.Round(time.Second))}
	}
	if missing := missingNames(cert, spec); len(missing) > 0 {
		return Decision{RenewServing, "serving certificate lacks " + strings.Join(missing, ", ")}
	}
	if !bytes.Equal(trustBundle(now, ca, b.Trust), b.Trust) {
		return Decision{RefreshTrust, "trust bundle is not current"}
	}
	return Decision{Keep, "current"}
}

// missingNames lists the spec's names the certificate does not hold.
func missingNames(cert *x509.Certificate, spec Spec) []string {
	var out []string
	for _, n := range spec.DNSNames {
		if !slices.Contains(cert.DNSNames, n) {
			out = append(out, n)
		}
	}
	for _, ip := range spec.IPs {
		if !slices.ContainsFunc(cert.IPAddresses, func(c net.IP) bool {
			a, ok := netip.AddrFromSlice(c)
			return ok && a.Unmap() == ip.Unmap()
		}) {
			out = append(out, ip.String())
		}
	}
	return out
}

// maxTrusted bounds the trust bundle: the current CA and two older ones.
const maxTrusted = 3

// trustBundle returns the PEM trust bundle for current CA ca: ca first,
// then the CAs of prev that are still valid at now, in their order.
func trustBundle(now time.Time, ca *x509.Certificate, prev []byte) []byte {
	out := pemCert(ca.Raw)
	kept := []*x509.Certificate{ca}
	for _, c := range parseCerts(prev) {
		if len(kept) == maxTrusted {
			break
		}
		dup := slices.ContainsFunc(kept, func(k *x509.Certificate) bool { return bytes.Equal(k.Raw, c.Raw) })
		if c.IsCA && !now.After(c.NotAfter) && !dup {
			out = append(out, pemCert(c.Raw)...)
			kept = append(kept, c)
		}
	}
	return out
}

// RenewAt returns when Decide will ask to renew the certificate (PEM)
// issued with lifetime, for logs; the zero time when it does not parse.
func RenewAt(certPEM []byte, lifetime time.Duration) time.Time {
	certs := parseCerts(certPEM)
	if len(certs) == 0 {
		return time.Time{}
	}
	return certs[0].NotAfter.Add(-lifetime / 3)
}
