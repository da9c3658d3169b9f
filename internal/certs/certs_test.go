package certs

import (
	"bytes"
	"crypto/x509"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	day   = 24 * time.Hour
	month = 30 * day
)

func testSpec() Spec {
	return Spec{
		DNSNames:  []string{"pylon-webhook-service.pylon-system.svc", "pylon-webhook-service.pylon-system.svc.cluster.local"},
		IPs:       []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Lifetimes: DefaultLifetimes(),
	}
}

// issued returns a fresh bundle issued at t.
func issued(t *testing.T, at time.Time, spec Spec) Bundle {
	t.Helper()
	b, err := Issue(at, RenewAll, Bundle{}, spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	spec := testSpec()
	fresh := issued(t, t0, spec)
	other := issued(t, t0, spec) // a different CA
	renewed, err := Issue(t0.Add(730*day), RenewServing, fresh, spec)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := Issue(t0.Add(731*day), StageCA, renewed, spec)
	if err != nil {
		t.Fatal(err)
	}
	withMore := spec
	withMore.DNSNames = append(withMore.DNSNames[:2:2], "webhook.lab")
	fewer := spec
	fewer.IPs = nil
	longer := spec
	longer.Lifetimes.Serving = 2 * longer.Lifetimes.Serving

	tests := []struct {
		name string
		now  time.Time
		b    Bundle
		spec Spec
		want Action
	}{
		{"empty Secret", t0, Bundle{}, spec, RenewAll},
		{"fresh", t0, fresh, spec, Keep},
		{"7 months later", t0.Add(7 * month), fresh, spec, Keep},
		{"a third of the serving life left", t0.Add(245 * day), fresh, spec, RenewServing},
		{"serving expired", t0.Add(13 * month), fresh, spec, RenewServing},
		{"a third of the CA life left", t0.Add(731 * day), fresh, spec, StageCA},
		{"successor staged, not trusted long enough", t0.Add(731*day + 30*time.Minute), staged, spec, Keep},
		{"successor trusted long enough", t0.Add(731*day + time.Hour), staged, spec, PromoteCA},
		{"successor staged before the CA was due: wait", t0.Add(day), staged, spec, Keep},
		{"successor unusable", t0.Add(732 * day), Bundle{CA: staged.CA, Next: PEMPair{Cert: staged.Next.Cert}, NextSince: staged.NextSince, Serving: staged.Serving, Trust: staged.Trust}, spec, StageCA},
		{"successor missing from the trust bundle", t0.Add(731*day + 30*time.Minute), Bundle{CA: staged.CA, Next: staged.Next, NextSince: staged.NextSince, Serving: staged.Serving, Trust: fresh.Trust}, spec, RefreshTrust},
		{"CA expired", t0.Add(40 * month), fresh, spec, RenewAll},
		{"a name is missing", t0, fresh, withMore, RenewServing},
		{"fewer names wanted: keep", t0, fresh, fewer, Keep},
		{"serving cert of another CA", t0, Bundle{CA: fresh.CA, Serving: other.Serving, Trust: fresh.Trust}, spec, RenewServing},
		{"serving key of another cert", t0, Bundle{CA: fresh.CA, Serving: PEMPair{fresh.Serving.Cert, other.Serving.Key}, Trust: fresh.Trust}, spec, RenewServing},
		{"no serving key", t0, Bundle{CA: fresh.CA, Serving: PEMPair{Cert: fresh.Serving.Cert}, Trust: fresh.Trust}, spec, RenewServing},
		{"CA key lost", t0, Bundle{CA: PEMPair{Cert: fresh.CA.Cert, Key: []byte("junk")}, Serving: fresh.Serving, Trust: fresh.Trust}, spec, RenewAll},
		{"CA is the serving cert", t0, Bundle{CA: fresh.Serving, Serving: fresh.Serving, Trust: fresh.Trust}, spec, RenewAll},
		{"no trust bundle", t0, Bundle{CA: fresh.CA, Serving: fresh.Serving}, spec, RefreshTrust},
		{"trust bundle of another CA", t0, Bundle{CA: fresh.CA, Serving: fresh.Serving, Trust: other.Trust}, spec, RefreshTrust},
		{"longer serving lifetime: renewed once a third of it is left", t0.Add(7 * month), fresh, longer, RenewServing},
		{"longer serving lifetime: kept before", t0.Add(4 * month), fresh, longer, Keep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.now, tc.b, tc.spec)
			if d.Action != tc.want {
				t.Fatalf("Decide = %s (%s), want %s", d.Action, d.Reason, tc.want)
			}
			if d.Reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

// TestIssueConverges checks that every action leads to a bundle Decide
// keeps, at any point of the lifecycle.
func TestIssueConverges(t *testing.T) {
	spec := testSpec()
	b := Bundle{}
	for step := range 60 {
		now := t0.Add(time.Duration(step) * month)
		d := Decide(now, b, spec)
		nb, err := Issue(now, d.Action, b, spec)
		if err != nil {
			t.Fatalf("month %d: %v", step, err)
		}
		if again := Decide(now, nb, spec); again.Action != Keep {
			t.Fatalf("month %d: after %s, Decide = %s (%s)", step, d.Action, again.Action, again.Reason)
		}
		b = nb
	}
}

func TestServingCertificate(t *testing.T) {
	spec := testSpec()
	b := issued(t, t0, spec)
	ca := parseCerts(b.CA.Cert)[0]
	cert := parseCerts(b.Serving.Cert)[0]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.Trust)
	for _, name := range []string{"pylon-webhook-service.pylon-system.svc", "pylon-webhook-service.pylon-system.svc.cluster.local", "127.0.0.1"} {
		_, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: pool, CurrentTime: t0}); err == nil {
		t.Error("certificate verifies for a name it does not hold")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"serving NotBefore", cert.NotBefore, t0.Add(-Backdate)},
		{"serving NotAfter", cert.NotAfter, t0.Add(spec.Lifetimes.Serving)},
		{"CA NotAfter", ca.NotAfter, t0.Add(spec.Lifetimes.CA)},
		{"serving is CA", cert.IsCA, false},
		{"CA max path length zero", ca.MaxPathLenZero, true},
		{"subject", cert.Subject.CommonName, "pylon-webhook-service.pylon-system.svc"},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestServingNeverOutlivesCA(t *testing.T) {
	spec := testSpec()
	b := issued(t, t0, spec)
	// 25 months on the CA is still kept (exactly a third is left at 24),
	// so force a serving renewal near the CA's end.
	now := t0.Add(spec.Lifetimes.CA - spec.Lifetimes.Serving/2)
	nb, err := Issue(now, RenewServing, b, spec)
	if err != nil {
		t.Fatal(err)
	}
	ca, cert := parseCerts(nb.CA.Cert)[0], parseCerts(nb.Serving.Cert)[0]
	if !cert.NotAfter.Equal(ca.NotAfter) {
		t.Errorf("serving NotAfter %s, want the CA's %s", cert.NotAfter, ca.NotAfter)
	}
}

// TestCARotation follows a CA rotation: the successor is trusted before
// it signs anything, and the old CA stays trusted until it expires.
func TestCARotation(t *testing.T) {
	spec := testSpec()
	b0 := issued(t, t0, spec)
	ca1 := parseCerts(b0.CA.Cert)[0]
	t1 := t0.Add(731 * day)
	step := func(now time.Time, b Bundle, want Action) Bundle {
		t.Helper()
		d := Decide(now, b, spec)
		if d.Action != want {
			t.Fatalf("at %s: Decide = %s (%s), want %s", now, d.Action, d.Reason, want)
		}
		nb, err := Issue(now, d.Action, b, spec)
		if err != nil {
			t.Fatal(err)
		}
		return nb
	}
	b1 := step(t1, b0, StageCA)
	ca2 := parseCerts(b1.Next.Cert)[0]
	if !bytes.Equal(b1.Serving.Cert, b0.Serving.Cert) || !bytes.Equal(b1.CA.Cert, b0.CA.Cert) {
		t.Fatal("staging changed the CA or the serving certificate")
	}
	if diff := cmp.Diff([]string{ca1.Subject.CommonName, ca2.Subject.CommonName}, trustNames(b1.Trust)); diff != "" {
		t.Fatalf("trust after staging (-want +got):\n%s", diff)
	}
	b2 := step(t1.Add(spec.Lifetimes.TrustDelay), b1, PromoteCA)
	if !bytes.Equal(b2.CA.Cert, b1.Next.Cert) || len(b2.Next.Cert) != 0 || !b2.NextSince.IsZero() {
		t.Fatal("promotion did not make the successor the CA")
	}
	if err := parseCerts(b2.Serving.Cert)[0].CheckSignatureFrom(ca2); err != nil {
		t.Fatalf("serving certificate after promotion: %v", err)
	}
	if diff := cmp.Diff([]string{ca2.Subject.CommonName, ca1.Subject.CommonName}, trustNames(b2.Trust)); diff != "" {
		t.Fatalf("trust after promotion (-want +got):\n%s", diff)
	}
	// Once the old CA expired, it is dropped (here with a serving renewal
	// that falls due at the same time).
	after := ca1.NotAfter.Add(time.Minute)
	b3 := step(after, b2, RenewServing)
	if diff := cmp.Diff([]string{ca2.Subject.CommonName}, trustNames(b3.Trust)); diff != "" {
		t.Fatalf("trust after the old CA expired (-want +got):\n%s", diff)
	}
}

func TestTrustBundleBounded(t *testing.T) {
	spec := testSpec()
	spec.Lifetimes = Lifetimes{CA: 10 * time.Hour, Serving: time.Hour}
	staged, err := Issue(t0, StageCA, issued(t, t0, spec), spec)
	if err != nil {
		t.Fatal(err)
	}
	b := issued(t, t0, spec)
	for i := 1; i <= 5; i++ {
		var err error
		if b, err = Issue(t0.Add(time.Duration(i)*time.Minute), RenewAll, b, spec); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(parseCerts(b.Trust)); n != maxTrusted {
		t.Errorf("trust bundle holds %d CAs, want %d", n, maxTrusted)
	}
	if first := parseCerts(b.Trust)[0]; !bytes.Equal(first.Raw, parseCerts(b.CA.Cert)[0].Raw) {
		t.Error("the current CA is not first in the trust bundle")
	}
	staged.Trust = b.Trust
	if staged, err = Issue(t0, RefreshTrust, staged, spec); err != nil {
		t.Fatal(err)
	}
	if got := parseCerts(staged.Trust); len(got) != maxTrusted || !bytes.Equal(got[1].Raw, parseCerts(staged.Next.Cert)[0].Raw) {
		t.Error("a staged successor is not second in a full trust bundle")
	}
}

func TestSpecValidate(t *testing.T) {
	good := testSpec()
	bad := map[string]func(*Spec){
		"no names":             func(s *Spec) { s.DNSNames, s.IPs = nil, nil },
		"CA shorter":           func(s *Spec) { s.Lifetimes.CA = s.Lifetimes.Serving / 2 },
		"tiny serving":         func(s *Spec) { s.Lifetimes.Serving = time.Second },
		"invalid IP":           func(s *Spec) { s.IPs = []netip.Addr{{}} },
		"IP with a zone":       func(s *Spec) { s.IPs = []netip.Addr{netip.MustParseAddr("fe80::1%eth0")} },
		"zero lifetimes (CA)":  func(s *Spec) { s.Lifetimes = Lifetimes{} },
		"serving only lasting": func(s *Spec) { s.Lifetimes.CA = 0 },
		"negative trust delay": func(s *Spec) { s.Lifetimes.TrustDelay = -time.Second },
		"trust delay too long": func(s *Spec) { s.Lifetimes.TrustDelay = s.Lifetimes.CA / 3 },
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			s := testSpec()
			mutate(&s)
			if err := s.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}

func TestRenewAt(t *testing.T) {
	spec := testSpec()
	b := issued(t, t0, spec)
	if got, want := RenewAt(b.Serving.Cert, spec.Lifetimes.Serving), t0.Add(spec.Lifetimes.Serving*2/3); !got.Equal(want) {
		t.Errorf("RenewAt = %s, want %s", got, want)
	}
	if got := RenewAt([]byte("junk"), time.Hour); !got.IsZero() {
		t.Errorf("RenewAt(junk) = %s, want zero", got)
	}
}

// trustNames lists the subjects of a trust bundle.
func trustNames(pemData []byte) []string {
	var out []string
	for _, c := range parseCerts(pemData) {
		out = append(out, c.Subject.CommonName)
	}
	return out
}
