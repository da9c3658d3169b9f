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
// lifetime is left or when it lacks a wanted name. The CA is rotated in two
// steps so that no replica ever serves a certificate the API server does
// not trust yet: when a third of its lifetime is left, a successor CA is
// staged (added to the trust bundle, which every replica writes into the
// webhook configuration's caBundle); TrustDelay later the successor
// becomes the CA and signs a new serving certificate. The trust bundle
// keeps old CAs until they expire, so replicas that still serve a
// certificate of the old CA stay trusted until they pick up the new one.
// Each replica writes the bundle into the webhook configuration before it
// writes new certificate files.
package certs

import (
	"bytes"
	"crypto/x509"
	"errors"
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
	// TrustDelay is how long a successor CA is trusted before it signs
	// the certificate served: long enough for every API server to see the
	// new caBundle.
	TrustDelay time.Duration
}

// DefaultLifetimes returns a CA valid 3 years (its successor staged after
// 2 and used an hour later) and serving certificates valid 1 year
// (renewed after 8 months).
func DefaultLifetimes() Lifetimes {
	const year = 365 * 24 * time.Hour
	return Lifetimes{CA: 3 * year, Serving: year, TrustDelay: time.Hour}
}

// Validate checks the spec: at least one name, and a CA that lives at
// least as long as a serving certificate (else a serving certificate cut
// short at the CA's expiry would be renewed again at once).
func (s Spec) Validate() error {
	if len(s.DNSNames) == 0 && len(s.IPs) == 0 {
		return fmt.Errorf("certificate spec: no DNS name or IP address")
	}
	l := s.Lifetimes
	if l.Serving < time.Minute || l.CA < l.Serving {
		return fmt.Errorf("certificate spec: serving lifetime %s must be at least 1m and at most the CA lifetime %s", l.Serving, l.CA)
	}
	if l.TrustDelay < 0 || l.TrustDelay >= l.CA/6 {
		return fmt.Errorf("certificate spec: trust delay %s must be at least 0 and less than a sixth of the CA lifetime %s", l.TrustDelay, l.CA)
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
	// Next is the staged successor of CA, if any, trusted since NextSince.
	Next      PEMPair
	NextSince time.Time
	// Serving is the serving certificate, signed by CA.
	Serving PEMPair
	// Trust is the PEM bundle clients must trust: CA first, then Next,
	// then older CAs that have not expired yet.
	Trust []byte
}

// Action is what Decide asks for.
type Action int

// Actions.
const (
	// Keep: the bundle is current.
	Keep Action = iota
	// RefreshTrust: rebuild the trust bundle (a CA is missing from it or
	// an old one expired).
	RefreshTrust
	// RenewServing: issue a new serving certificate from the current CA.
	RenewServing
	// StageCA: create a successor CA and trust it, serving unchanged.
	StageCA
	// PromoteCA: make the successor the CA and issue a serving
	// certificate from it.
	PromoteCA
	// RenewAll: issue a new CA and a new serving certificate at once
	// (there is no usable CA).
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
	case StageCA:
		return "stage-ca"
	case PromoteCA:
		return "promote-ca"
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
	ca, err := parseCA(b.CA, now)
	if err != nil {
		return Decision{RenewAll, "no usable CA: " + err.Error()}
	}
	next, nextErr := parseCA(b.Next, now)
	if left := ca.NotAfter.Sub(now); left < spec.Lifetimes.CA/3 {
		due := fmt.Sprintf("CA expires at %s (%s left)", ca.NotAfter.UTC().Format(time.RFC3339), left.Round(time.Second))
		switch {
		case nextErr != nil || next.NotAfter.Sub(now) < spec.Lifetimes.CA/3:
			return Decision{StageCA, due + "; staging its successor"}
		case !now.Before(b.NextSince.Add(spec.Lifetimes.TrustDelay)):
			return Decision{PromoteCA, due + "; its successor is trusted since " + b.NextSince.UTC().Format(time.RFC3339)}
		}
	}
	if d, renew := decideServing(now, b.Serving, ca, spec); renew {
		return d
	}
	if nextErr != nil {
		next = nil
	}
	if !bytes.Equal(trustBundle(now, ca, next, b.Trust), b.Trust) {
		return Decision{RefreshTrust, "trust bundle is not current"}
	}
	return Decision{Keep, "current"}
}

// decideServing checks the serving certificate against its CA and the
// spec.
func decideServing(now time.Time, p PEMPair, ca *x509.Certificate, spec Spec) (Decision, bool) {
	cert, _, err := parsePair(p)
	if err == nil {
		err = cert.CheckSignatureFrom(ca)
	}
	if err != nil {
		return Decision{RenewServing, "no usable serving certificate: " + err.Error()}, true
	}
	if left := cert.NotAfter.Sub(now); left < spec.Lifetimes.Serving/3 {
		return Decision{RenewServing, fmt.Sprintf("serving certificate expires at %s (%s left)", cert.NotAfter.UTC().Format(time.RFC3339), left.Round(time.Second))}, true
	}
	if missing := missingNames(cert, spec); len(missing) > 0 {
		return Decision{RenewServing, "serving certificate lacks " + strings.Join(missing, ", ")}, true
	}
	return Decision{}, false
}

// parseCA parses a CA pair that is valid at now.
func parseCA(p PEMPair, now time.Time) (*x509.Certificate, error) {
	ca, _, err := parsePair(p)
	switch {
	case err != nil:
		return nil, err
	case !ca.IsCA:
		return nil, errors.New("certificate is not a CA")
	case now.After(ca.NotAfter):
		return nil, fmt.Errorf("CA expired at %s", ca.NotAfter.UTC().Format(time.RFC3339))
	}
	return ca, nil
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

// maxTrusted bounds the trust bundle: the current CA, its successor and
// two older ones.
const maxTrusted = 4

// trustBundle returns the PEM trust bundle: ca first, then next (if not
// nil), then the CAs of prev that are still valid at now, in their order.
func trustBundle(now time.Time, ca, next *x509.Certificate, prev []byte) []byte {
	kept := []*x509.Certificate{ca}
	if next != nil && !bytes.Equal(next.Raw, ca.Raw) {
		kept = append(kept, next)
	}
	for _, c := range parseCerts(prev) {
		if len(kept) == maxTrusted {
			break
		}
		dup := slices.ContainsFunc(kept, func(k *x509.Certificate) bool { return bytes.Equal(k.Raw, c.Raw) })
		if c.IsCA && !now.After(c.NotAfter) && !dup {
			kept = append(kept, c)
		}
	}
	var out []byte
	for _, c := range kept {
		out = append(out, pemCert(c.Raw)...)
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
