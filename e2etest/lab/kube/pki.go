// Package kube runs the lab's control plane (etcd and a real kube-apiserver,
// the binaries from hack/kube-tools.sh) inside a lab namespace, and offers
// what a cluster without controllers and kubelets still needs: credentials
// (an admin token, ServiceAccount tokens through the TokenRequest API,
// kubeconfig files), Node objects with status, EndpointSlices for test
// Services, and server-side apply of YAML manifests.
//
// There is no kube-controller-manager: nothing garbage-collects, nothing
// creates EndpointSlices or ServiceAccount "default"s, nothing marks nodes
// NotReady. Tests do that explicitly with the helpers here.
package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"time"
)

// PKI holds the lab cluster's keys and certificates, PEM-encoded.
type PKI struct {
	CACert      []byte // trusted by every client
	ServingCert []byte // kube-apiserver's certificate, signed by the CA
	ServingKey  []byte
	SAKey       []byte // ServiceAccount token signing key (ECDSA P-256)
	// KubeletClientCert and KubeletClientKey are what kube-apiserver
	// presents to kubelets (logs, exec, port-forward): CN
	// kube-apiserver-kubelet-client in group system:masters.
	KubeletClientCert []byte
	KubeletClientKey  []byte
}

// NewPKI makes a fresh CA, a serving certificate for the given IP
// addresses and DNS names, and a ServiceAccount signing key. now sets the
// validity window (from an hour before, for clock skew, to a month after).
func NewPKI(now time.Time, ips []netip.Addr, dnsNames []string) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pylon-lab-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := &PKI{CACert: pemBlock("CERTIFICATE", caDER)}
	if p.ServingCert, p.ServingKey, err = servingCert(now, caCert, caKey, ips, dnsNames); err != nil {
		return nil, err
	}
	if p.KubeletClientCert, p.KubeletClientKey, err = clientCert(now, caCert, caKey, "kube-apiserver-kubelet-client", "system:masters"); err != nil {
		return nil, err
	}
	if p.SAKey, err = newECKeyPEM(); err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	return p, nil
}

func servingCert(now time.Time, ca *x509.Certificate, caKey *ecdsa.PrivateKey, ips []netip.Addr, dns []string) (cert, key []byte, err error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	return signLeaf(now, tmpl, ca, caKey, "serving")
}

// clientCert makes a client certificate for user cn in group org.
func clientCert(now time.Time, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn, org string) (cert, key []byte, err error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return signLeaf(now, tmpl, ca, caKey, cn+" client")
}

// signLeaf gives tmpl a fresh key and the lab's validity window and signs
// it with the CA; what names the certificate in errors.
func signLeaf(now time.Time, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, what string) (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", what, err)
	}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(30*24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s certificate: %w", what, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s key: %w", what, err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER), nil
}

func newECKeyPEM() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("EC PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
