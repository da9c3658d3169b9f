package metricsauth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	now := time.Now()
	c, err := SelfSigned([]string{"node1", "192.168.77.11", "", "::1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := x.VerifyHostname("192.168.77.11"); err != nil {
		t.Error(err)
	}
	if err := x.VerifyHostname("node1"); err != nil {
		t.Error(err)
	}
	if !x.NotBefore.Before(now) || !x.NotAfter.After(now.Add(365*24*time.Hour)) {
		t.Errorf("validity %v - %v around %v", x.NotBefore, x.NotAfter, now)
	}
}

// TestServingTLSFromFiles: the certificate comes from the directory and
// is read again when the files are replaced.
func TestServingTLSFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(host string, mtime time.Time) {
		c, err := SelfSigned([]string{host}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		for name, block := range map[string]*pem.Block{
			CertFile: {Type: "CERTIFICATE", Bytes: c.Certificate[0]},
			KeyFile:  {Type: "PRIVATE KEY", Bytes: key},
		} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	served := func(cfg *tls.Config) string {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x.DNSNames[0]
	}
	write("first", time.Unix(1e9, 0))
	cfg, err := ServingTLS(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := served(cfg); got != "first" {
		t.Errorf("serves %q, want first", got)
	}
	write("second", time.Unix(2e9, 0))
	if got := served(cfg); got != "second" {
		t.Errorf("serves %q after the files changed, want second", got)
	}
	if _, err := ServingTLS(t.TempDir(), nil, time.Now()); err == nil {
		t.Error("an empty certificate directory was accepted")
	}
}
