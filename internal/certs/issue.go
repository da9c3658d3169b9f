package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Backdate is how long before their issue certificates become valid, so
// that an API server whose clock is a little behind accepts them.
const Backdate = time.Hour

// caCommonName prefixes the CA's subject; the issue time makes each CA's
// name unique, which keeps old and new CAs apart in the trust bundle.
const caCommonName = "pylon-webhook-ca"

// Issue carries out action on bundle b at time now and returns the new
// bundle. Keep returns b unchanged.
func Issue(now time.Time, action Action, b Bundle, spec Spec) (Bundle, error) {
	if err := spec.Validate(); err != nil {
		return Bundle{}, err
	}
	if action == Keep {
		return b, nil
	}
	out := b
	prev := b.Trust // older CAs stay trusted until they expire
	var ca *x509.Certificate
	var caKey crypto.Signer
	var err error
	switch action {
	case RenewAll:
		ca, caKey, out.CA, err = newCA(now, spec.Lifetimes.CA)
		out.Next, out.NextSince = PEMPair{}, time.Time{}
		prev = append(append([]byte(nil), b.CA.Cert...), b.Trust...)
	case PromoteCA:
		ca, caKey, err = parsePair(b.Next)
		out.CA, out.Next, out.NextSince = b.Next, PEMPair{}, time.Time{}
		prev = append(append([]byte(nil), b.CA.Cert...), b.Trust...)
	default:
		ca, caKey, err = parsePair(b.CA)
	}
	if err != nil {
		return Bundle{}, fmt.Errorf("%s: CA: %w", action, err)
	}
	if action == StageCA {
		if _, _, out.Next, err = newCA(now, spec.Lifetimes.CA); err != nil {
			return Bundle{}, fmt.Errorf("%s: %w", action, err)
		}
		out.NextSince = now
	}
	if action == RenewAll || action == PromoteCA || action == RenewServing {
		if out.Serving, err = newServing(now, spec, ca, caKey); err != nil {
			return Bundle{}, fmt.Errorf("%s: serving certificate: %w", action, err)
		}
	}
	var next *x509.Certificate
	if certs := parseCerts(out.Next.Cert); len(certs) > 0 {
		next = certs[0]
	}
	out.Trust = trustBundle(now, ca, next, prev)
	return out, nil
}

// newCA creates a self-signed CA valid for lifetime from now.
func newCA(now time.Time, lifetime time.Duration) (*x509.Certificate, crypto.Signer, PEMPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, PEMPair{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, PEMPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", caCommonName, now.Unix())},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return sign(tmpl, tmpl, key, key)
}

// newServing creates a serving certificate for the spec's names, signed by
// ca and valid for the serving lifetime but never beyond the CA.
func newServing(now time.Time, spec Spec, ca *x509.Certificate, caKey crypto.Signer) (PEMPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return PEMPair{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return PEMPair{}, err
	}
	notAfter := now.Add(spec.Lifetimes.Serving)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now.Add(-Backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     append([]string(nil), spec.DNSNames...),
	}
	if len(spec.DNSNames) > 0 {
		tmpl.Subject.CommonName = spec.DNSNames[0]
	} else {
		tmpl.Subject.CommonName = spec.IPs[0].String()
	}
	for _, ip := range spec.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	_, _, pair, err := sign(tmpl, ca, key, caKey)
	return pair, err
}

// sign creates the certificate and returns it parsed and as PEM with key.
func sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, PEMPair, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, PEMPair{}, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, PEMPair{}, fmt.Errorf("parse new certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, PEMPair{}, fmt.Errorf("encode key: %w", err)
	}
	return cert, key, PEMPair{Cert: pemCert(der), Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}, nil
}

// newSerial returns a random 127-bit serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n, nil
}

// Errors of parsePair, for callers and tests that branch.
var (
	ErrNoCertificate = errors.New("no PEM certificate")
	ErrNoKey         = errors.New("no PEM private key")
	ErrKeyMismatch   = errors.New("private key does not match the certificate")
)

// parsePair parses a certificate and its key and checks they belong
// together.
func parsePair(p PEMPair) (*x509.Certificate, crypto.Signer, error) {
	certs := parseCerts(p.Cert)
	if len(certs) == 0 {
		return nil, nil, ErrNoCertificate
	}
	block, _ := pem.Decode(p.Key)
	if block == nil {
		return nil, nil, ErrNoKey
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("parse private key: %T cannot sign", k)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, nil, ErrKeyMismatch
	}
	return certs[0], signer, nil
}

// parseCerts returns every certificate of a PEM bundle that parses.
func parseCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// pemCert encodes a DER certificate as PEM.
func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
