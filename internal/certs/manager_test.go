package certs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

const (
	testNS     = "pylon-system"
	testSecret = "pylon-webhook-cert"
	testConfig = "pylon-validating-webhook"
)

var secretKey = client.ObjectKey{Namespace: testNS, Name: testSecret}

// webhookConfig returns a configuration with two webhooks and no CA.
func webhookConfig() *admissionregistrationv1.ValidatingWebhookConfiguration {
	url := "https://127.0.0.1:9443/validate"
	hook := admissionregistrationv1.ValidatingWebhook{ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url}}
	a, b := hook, hook
	a.Name, b.Name = "a.pylonlb.io", "b.pylonlb.io"
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testConfig},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{a, b},
	}
}

// newFake returns a fake API holding objs; funcs may intercept calls.
func newFake(t *testing.T, funcs *interceptor.Funcs, objs ...client.Object) client.WithWatch {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...)
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	return b.Build()
}

// newManager builds a manager writing into a fresh directory.
func newManager(t *testing.T, c client.Client, clk clock.Clock) *Manager {
	t.Helper()
	m, err := New(c, c, Options{Namespace: testNS, SecretName: testSecret, WebhookConfigName: testConfig,
		Spec: testSpec(), CertDir: filepath.Join(t.TempDir(), "certs"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// state is what the API and the directory hold after a sync.
type state struct {
	secret   *corev1.Secret
	caBundle [][]byte
	cert     []byte
	key      []byte
}

func read(t *testing.T, c client.Client, m *Manager) state {
	t.Helper()
	var s state
	s.secret = &corev1.Secret{}
	if err := c.Get(context.Background(), secretKey, s.secret); err != nil {
		t.Fatalf("read Secret: %v", err)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: testConfig}, vwc); err == nil {
		for _, w := range vwc.Webhooks {
			s.caBundle = append(s.caBundle, w.ClientConfig.CABundle)
		}
	}
	s.cert, _ = os.ReadFile(filepath.Join(m.opts.CertDir, CertFile))
	s.key, _ = os.ReadFile(filepath.Join(m.opts.CertDir, KeyFile))
	return s
}

// checkConsistent checks files and caBundle against the Secret.
func checkConsistent(t *testing.T, s state) {
	t.Helper()
	d := s.secret.Data
	if !bytes.Equal(s.cert, d[SecretCert]) || !bytes.Equal(s.key, d[SecretKey]) {
		t.Error("files differ from the Secret's serving pair")
	}
	for i, b := range s.caBundle {
		if !bytes.Equal(b, d[SecretTrust]) {
			t.Errorf("webhook %d caBundle differs from the Secret's trust bundle", i)
		}
	}
	if got := Decide(t0, bundleOf(s.secret), testSpec()); got.Action != Keep && got.Action != RenewServing {
		t.Errorf("stored bundle: Decide = %s (%s)", got.Action, got.Reason)
	}
}

func TestSyncCreatesEverything(t *testing.T) {
	c := newFake(t, nil, webhookConfig())
	m := newManager(t, c, clocktesting.NewFakeClock(t0))
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := read(t, c, m)
	checkConsistent(t, s)
	if len(s.caBundle) != 2 || len(s.caBundle[0]) == 0 {
		t.Fatalf("caBundles %d, want 2 non-empty", len(s.caBundle))
	}
	if s.secret.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type %s", s.secret.Type)
	}
	info, err := os.Stat(filepath.Join(m.opts.CertDir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, info.Mode())
	}
}

func TestSyncReusesValidSecret(t *testing.T) {
	c := newFake(t, nil, webhookConfig())
	clk := clocktesting.NewFakeClock(t0)
	first := newManager(t, c, clk)
	if err := first.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := read(t, c, first)
	clk.Step(month)
	second := newManager(t, c, clk) // another replica, or a restart
	if err := second.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := read(t, c, second)
	if after.secret.ResourceVersion != before.secret.ResourceVersion {
		t.Error("a valid Secret was rewritten")
	}
	checkConsistent(t, after)
	if !bytes.Equal(after.cert, before.cert) {
		t.Error("the second replica serves another certificate")
	}
}

func TestSyncRenews(t *testing.T) {
	c := newFake(t, nil, webhookConfig())
	clk := clocktesting.NewFakeClock(t0)
	m := newManager(t, c, clk)
	ctx := context.Background()
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s0 := read(t, c, m)

	clk.Step(245 * day) // a third of the serving life left
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s1 := read(t, c, m)
	if bytes.Equal(s1.cert, s0.cert) {
		t.Fatal("serving certificate not renewed")
	}
	if !bytes.Equal(s1.secret.Data[SecretCACert], s0.secret.Data[SecretCACert]) || !bytes.Equal(s1.caBundle[0], s0.caBundle[0]) {
		t.Fatal("a serving renewal changed the CA or the bundle")
	}

	clk.Step(486 * day) // a third of the CA life left: a successor is staged
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := read(t, c, m)
	if !bytes.Equal(s2.cert, s1.cert) || len(s2.secret.Data[SecretNextCert]) == 0 {
		t.Fatal("staging a successor CA changed the served certificate or stored no successor")
	}
	if n := len(parseCerts(s2.caBundle[0])); n != 2 {
		t.Fatalf("caBundle holds %d CAs after staging, want the CA and its successor", n)
	}

	clk.Step(time.Hour) // the successor is trusted long enough
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s3 := read(t, c, m)
	checkConsistent(t, s3)
	if !bytes.Equal(s3.secret.Data[SecretCACert], s2.secret.Data[SecretNextCert]) || bytes.Equal(s3.cert, s2.cert) {
		t.Fatal("the successor CA was not promoted")
	}
	for _, k := range []string{SecretNextCert, SecretNextKey, SecretNextSince} {
		if _, ok := s3.secret.Data[k]; ok {
			t.Errorf("key %s left in the Secret after promotion", k)
		}
	}
	if n := len(parseCerts(s3.caBundle[0])); n != 2 {
		t.Fatalf("caBundle holds %d CAs after promotion, want the new and the old", n)
	}
}

// TestReplicasAgree runs two managers whose writes race: the loser reads
// the winner's certificates and serves them.
func TestReplicasAgree(t *testing.T) {
	var other *Manager
	raced, inRace := 0, false
	race := func(ctx context.Context, obj client.Object) {
		if _, ok := obj.(*corev1.Secret); !ok || inRace {
			return
		}
		inRace = true
		defer func() { inRace = false }()
		raced++
		if err := other.Sync(ctx); err != nil {
			t.Errorf("other replica: %v", err)
		}
	}
	funcs := &interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			race(ctx, obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			race(ctx, obj)
			return c.Update(ctx, obj, opts...)
		},
	}
	c := newFake(t, funcs, webhookConfig())
	clk := clocktesting.NewFakeClock(t0)
	m := newManager(t, c, clk)
	other = newManager(t, c, clk)
	ctx := context.Background()
	for step, advance := range []time.Duration{0, 731 * day, time.Hour} {
		clk.Step(advance)
		if err := m.Sync(ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		sm, so := read(t, c, m), read(t, c, other)
		checkConsistent(t, sm)
		if !bytes.Equal(sm.cert, so.cert) {
			t.Fatalf("step %d: replicas serve different certificates", step)
		}
	}
	if raced < 3 {
		t.Fatalf("the other replica raced %d times, want one race per step at least", raced)
	}
}

func TestSyncWithoutWebhookConfiguration(t *testing.T) {
	c := newFake(t, nil)
	m := newManager(t, c, clocktesting.NewFakeClock(t0))
	ctx := context.Background()
	if err := m.Sync(ctx); err != nil {
		t.Fatalf("Sync without configuration: %v", err)
	}
	if s := read(t, c, m); len(s.cert) == 0 {
		t.Fatal("no files written")
	}
	if err := c.Create(ctx, webhookConfig()); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s := read(t, c, m)
	checkConsistent(t, s)
	if len(s.caBundle) != 2 || len(s.caBundle[1]) == 0 {
		t.Fatal("CA bundle not injected once the configuration appeared")
	}
}

// TestNewCANotServedBeforeTrusted checks that when the caBundle cannot be
// updated, the files keep the certificate of the old CA.
func TestNewCANotServedBeforeTrusted(t *testing.T) {
	failing := true
	funcs := &interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
		if _, ok := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok && failing {
			return apierrors.NewServiceUnavailable("test")
		}
		return c.Update(ctx, obj, opts...)
	}}
	vwc := webhookConfig()
	c := newFake(t, funcs, vwc)
	clk := clocktesting.NewFakeClock(t0)
	m := newManager(t, c, clk)
	ctx := context.Background()
	// Bootstrap writes files even though the injection fails.
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	s0 := read(t, c, m)
	if len(s0.cert) == 0 {
		t.Fatal("no files after bootstrap")
	}
	failing = false
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Step(731 * day) // stage a successor, trusted at once
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	failing = true
	clk.Step(time.Hour) // promote it while the caBundle cannot be written
	if err := m.Sync(ctx); err == nil {
		t.Fatal("Sync hid the injection failure")
	}
	s1 := read(t, c, m)
	if !bytes.Equal(s1.cert, s0.cert) {
		t.Fatal("new certificate files written while the caBundle could not be updated")
	}
	failing = false
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := read(t, c, m)
	checkConsistent(t, s2)
	if bytes.Equal(s2.cert, s0.cert) {
		t.Fatal("the new certificate is not served once trusted")
	}
}

// TestRunLoop runs Bootstrap and Run in a bubble: failures are retried,
// the periodic check renews, and Run returns when ctx ends.
func TestRunLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		failures := 3
		funcs := &interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if failures > 0 {
				failures--
				return errors.New("API down")
			}
			return c.Get(ctx, key, obj, opts...)
		}}
		c := newFake(t, funcs, webhookConfig())
		spec := testSpec()
		spec.Lifetimes = Lifetimes{CA: 3 * time.Hour, Serving: 30 * time.Minute}
		m, err := New(c, c, Options{Namespace: testNS, SecretName: testSecret, WebhookConfigName: testConfig,
			Spec: spec, CertDir: t.TempDir(), Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		if err := m.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 3*5*time.Second {
			t.Errorf("bootstrap took %s, want 3 retries of 5s", waited)
		}
		first := read(t, c, m).cert
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(21 * time.Minute) // past two thirds of the serving life
		synctest.Wait()
		if bytes.Equal(read(t, c, m).cert, first) {
			t.Error("the periodic check did not renew the serving certificate")
		}
		// A configuration created later gets its caBundle within a
		// RetryInterval, not an Interval.
		if err := c.Delete(ctx, webhookConfig()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if err := c.Create(ctx, webhookConfig()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := read(t, c, m); len(s.caBundle) != 2 || len(s.caBundle[0]) == 0 {
			t.Error("a configuration created after the controller got no caBundle within 5s")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
}
