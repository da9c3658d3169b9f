package metricsauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Names of the certificate files in a certificate directory (those of a
// kubernetes.io/tls Secret).
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// selfSignedLifetime is the self-signed certificate's validity: the
// process restarts long before (a new one each start).
const selfSignedLifetime = 10 * 365 * 24 * time.Hour

// ServingTLS returns the TLS configuration of a metrics server. With
// certDir, the certificate is read from its tls.crt and tls.key, again
// whenever they change (a renewed Secret's files are swapped by the
// kubelet); without, a self-signed certificate for hosts is made now.
func ServingTLS(certDir string, hosts []string, now time.Time) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if certDir == "" {
		cert, err := SelfSigned(hosts, now)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
		return cfg, nil
	}
	f := &certFiles{cert: filepath.Join(certDir, CertFile), key: filepath.Join(certDir, KeyFile)}
	if _, err := f.get(); err != nil {
		return nil, err
	}
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return f.get() }
	return cfg, nil
}

// certFiles loads a key pair from files, again when their modification
// times change.
type certFiles struct {
	cert, key string

	mu     sync.Mutex
	loaded *tls.Certificate
	stamp  [2]time.Time
}

func (f *certFiles) get() (*tls.Certificate, error) {
	var stamp [2]time.Time
	for i, name := range []string{f.cert, f.key} {
		st, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("metrics serving certificate: %w", err)
		}
		stamp[i] = st.ModTime()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded != nil && stamp == f.stamp {
		return f.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		if f.loaded != nil { // a half-written renewal: keep serving the old one
			return f.loaded, nil
		}
		return nil, fmt.Errorf("metrics serving certificate: %w", err)
	}
	f.loaded, f.stamp = &c, stamp
	return f.loaded, nil
}

// SelfSigned makes a self-signed ECDSA serving certificate for hosts (IP
// addresses or DNS names), valid from now.
func SelfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("metrics certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("metrics certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "pylon-metrics"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(selfSignedLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("metrics certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
