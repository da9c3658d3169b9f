package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/anchor"
)

// Keys of the certificate Secret. tls.crt and tls.key are the serving
// pair (the kubernetes.io/tls layout); ca-bundle.crt is the trust bundle.
const (
	SecretCACert = "ca.crt"
	SecretCAKey  = "ca.key"
	SecretCert   = corev1.TLSCertKey
	SecretKey    = corev1.TLSPrivateKeyKey
	SecretTrust  = "ca-bundle.crt"
	// The staged successor CA and when it entered the trust bundle
	// (RFC 3339).
	SecretNextCert  = "next-ca.crt"
	SecretNextKey   = "next-ca.key"
	SecretNextSince = "next-ca.trusted-since"
)

// File names in the certificate directory, as controller-runtime's
// webhook server reads them by default.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// ErrNoWebhookConfiguration means the ValidatingWebhookConfiguration does
// not exist (yet): nothing to inject the CA into.
var ErrNoWebhookConfiguration = errors.New("webhook configuration not found")

// Reader reads single objects. Pass the manager's API reader, not its
// cache: writes are compared against the newest version.
type Reader interface {
	Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error
}

// Writer creates and updates objects. Updates carry the resource version
// read, so two replicas never overwrite each other's certificates.
type Writer interface {
	Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error
	Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error
}

// Options configures a Manager.
type Options struct {
	// Namespace and SecretName locate the certificate Secret.
	Namespace, SecretName string
	// WebhookConfigName is the ValidatingWebhookConfiguration whose every
	// webhook gets the trust bundle as caBundle.
	WebhookConfigName string
	// Spec is what the certificates must be.
	Spec Spec
	// CertDir receives tls.crt and tls.key.
	CertDir string
	// Interval between two checks; default 1 minute. RetryInterval after
	// a failed check; default 5 seconds.
	Interval, RetryInterval time.Duration
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Anchor owns the Secret this manager creates (package anchor); nil:
	// no owner.
	Anchor *anchor.Resolver
}

// Manager keeps the Secret, the files and the caBundle current. Every
// replica runs one; they agree through the Secret's resource version.
// Its state is owned by the goroutine calling Bootstrap and Run.
type Manager struct {
	opts   Options
	reader Reader
	writer Writer

	written    []byte // PEM cert+key last written to CertDir
	configSeen bool   // the webhook configuration was found last time
}

// New checks the options and builds a Manager; it starts nothing.
func New(r Reader, w Writer, opts Options) (*Manager, error) {
	if opts.Namespace == "" || opts.SecretName == "" || opts.WebhookConfigName == "" || opts.CertDir == "" {
		return nil, errors.New("certs: Namespace, SecretName, WebhookConfigName and CertDir are required")
	}
	if err := opts.Spec.Validate(); err != nil {
		return nil, err
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{opts: opts, reader: r, writer: w, configSeen: true}, nil
}

// Bootstrap syncs until the certificate files exist, retrying failures,
// so that a webhook server can start on them. It returns ctx's error if
// ctx ends first.
func (m *Manager) Bootstrap(ctx context.Context) error {
	for {
		err := m.Sync(ctx)
		if m.written != nil {
			return nil
		}
		m.opts.Logger.Warn("webhook certificate not ready; retrying", "error", err, "retryIn", m.opts.RetryInterval)
		if !m.wait(ctx, m.opts.RetryInterval) {
			return ctx.Err()
		}
	}
}

// Run syncs every Interval until ctx ends; every RetryInterval after a
// failure and while the webhook configuration is missing, so that a
// configuration installed after the controller gets its caBundle soon.
func (m *Manager) Run(ctx context.Context) error {
	for {
		next := m.opts.Interval
		if err := m.Sync(ctx); err != nil {
			m.opts.Logger.Warn("webhook certificate sync failed; retrying", "error", err, "retryIn", m.opts.RetryInterval)
			next = m.opts.RetryInterval
		} else if !m.configSeen {
			next = m.opts.RetryInterval
		}
		if !m.wait(ctx, next) {
			return nil
		}
	}
}

// wait waits d on the clock; false when ctx ended.
func (m *Manager) wait(ctx context.Context, d time.Duration) bool {
	t := m.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// Sync makes one pass: renew the Secret's certificates if needed, put the
// trust bundle into the webhook configuration, then write the files. The
// files are not replaced while the configuration exists but could not be
// updated, so a certificate of a new CA is never served before the API
// server can trust it (unless no file exists yet). A missing
// configuration is not an error.
func (m *Manager) Sync(ctx context.Context) error {
	b, err := m.ensureSecret(ctx)
	if err != nil {
		return err
	}
	injectErr := m.inject(ctx, b.Trust)
	missing := errors.Is(injectErr, ErrNoWebhookConfiguration)
	if missing && m.configSeen {
		m.opts.Logger.Warn("webhook configuration not found; the API server will not call the webhook until it exists",
			"name", m.opts.WebhookConfigName)
	}
	m.configSeen = !missing
	if injectErr != nil && !missing && m.written != nil {
		return injectErr
	}
	if err := m.writeFiles(b.Serving); err != nil {
		return errors.Join(injectErr, err)
	}
	if missing {
		return nil
	}
	return injectErr
}

// ensureSecret reads the Secret and, when Decide says so, writes renewed
// certificates. A conflict with another replica's write is resolved by
// reading again.
func (m *Manager) ensureSecret(ctx context.Context) (Bundle, error) {
	key := client.ObjectKey{Namespace: m.opts.Namespace, Name: m.opts.SecretName}
	for range 3 {
		sec := &corev1.Secret{}
		err := m.reader.Get(ctx, key, sec)
		if apierrors.IsNotFound(err) {
			sec = nil
		} else if err != nil {
			return Bundle{}, fmt.Errorf("read Secret %s: %w", key, err)
		}
		b := bundleOf(sec)
		now := m.opts.Clock.Now()
		d := Decide(now, b, m.opts.Spec)
		if d.Action == Keep {
			return b, nil
		}
		nb, err := Issue(now, d.Action, b, m.opts.Spec)
		if err != nil {
			return Bundle{}, fmt.Errorf("issue webhook certificates: %w", err)
		}
		err = m.store(ctx, key, sec, nb)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return Bundle{}, err
		}
		m.opts.Logger.Info("webhook certificates written", "action", d.Action.String(), "reason", d.Reason,
			"renewAt", RenewAt(nb.Serving.Cert, m.opts.Spec.Lifetimes.Serving))
		return nb, nil
	}
	return Bundle{}, fmt.Errorf("write Secret %s: conflicting writes, will retry", key)
}

// store creates the Secret, or updates sec (at its resource version)
// keeping keys that are not ours.
func (m *Manager) store(ctx context.Context, key client.ObjectKey, sec *corev1.Secret, b Bundle) error {
	if sec == nil {
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{
				"app.kubernetes.io/name": "pylon", "app.kubernetes.io/component": "webhook",
			}},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{},
		}
		setData(sec, b)
		if err := m.opts.Anchor.Own(ctx, sec); err != nil {
			return fmt.Errorf("create Secret %s: %w", key, err)
		}
		if err := m.writer.Create(ctx, sec); err != nil {
			return fmt.Errorf("create Secret %s: %w", key, err)
		}
		return nil
	}
	sec = sec.DeepCopy()
	setData(sec, b)
	if err := m.writer.Update(ctx, sec); err != nil {
		return fmt.Errorf("update Secret %s: %w", key, err)
	}
	return nil
}

// inject sets caBundle on every webhook of the configuration that lacks
// it.
func (m *Manager) inject(ctx context.Context, trust []byte) error {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	err := m.reader.Get(ctx, client.ObjectKey{Name: m.opts.WebhookConfigName}, vwc)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %s", ErrNoWebhookConfiguration, m.opts.WebhookConfigName)
	}
	if err != nil {
		return fmt.Errorf("read ValidatingWebhookConfiguration %s: %w", m.opts.WebhookConfigName, err)
	}
	changed := false
	for i := range vwc.Webhooks {
		cc := &vwc.Webhooks[i].ClientConfig
		if !bytes.Equal(cc.CABundle, trust) {
			cc.CABundle, changed = trust, true
		}
	}
	if !changed {
		return nil
	}
	if err := m.writer.Update(ctx, vwc); err != nil {
		return fmt.Errorf("inject CA bundle into ValidatingWebhookConfiguration %s: %w", m.opts.WebhookConfigName, err)
	}
	m.opts.Logger.Info("webhook CA bundle injected", "name", m.opts.WebhookConfigName, "webhooks", len(vwc.Webhooks))
	return nil
}

// writeFiles writes the serving pair into CertDir when it changed, the
// key first; each file is replaced atomically.
func (m *Manager) writeFiles(p PEMPair) error {
	both := append(append([]byte(nil), p.Cert...), p.Key...)
	if bytes.Equal(both, m.written) && filesMatch(m.opts.CertDir, p) {
		return nil
	}
	if err := os.MkdirAll(m.opts.CertDir, 0o700); err != nil {
		return fmt.Errorf("create certificate directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{KeyFile, p.Key}, {CertFile, p.Cert}} {
		if err := writeAtomic(filepath.Join(m.opts.CertDir, f.name), f.data); err != nil {
			return err
		}
	}
	m.written = both
	return nil
}

// filesMatch reports whether the files on disk hold p (someone may have
// removed them).
func filesMatch(dir string, p PEMPair) bool {
	c, err1 := os.ReadFile(filepath.Join(dir, CertFile))
	k, err2 := os.ReadFile(filepath.Join(dir, KeyFile))
	return err1 == nil && err2 == nil && bytes.Equal(c, p.Cert) && bytes.Equal(k, p.Key)
}

// writeAtomic replaces name's content through a temporary file.
func writeAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// bundleOf reads a bundle from the Secret; nil gives an empty bundle.
func bundleOf(sec *corev1.Secret) Bundle {
	if sec == nil {
		return Bundle{}
	}
	d := sec.Data
	b := Bundle{
		CA:      PEMPair{Cert: d[SecretCACert], Key: d[SecretCAKey]},
		Next:    PEMPair{Cert: d[SecretNextCert], Key: d[SecretNextKey]},
		Serving: PEMPair{Cert: d[SecretCert], Key: d[SecretKey]},
		Trust:   d[SecretTrust],
	}
	// An unreadable time counts as long ago: the successor is promoted.
	b.NextSince, _ = time.Parse(time.RFC3339Nano, string(d[SecretNextSince]))
	return b
}

// setData writes the bundle into the Secret's data, removing empty keys
// and keeping keys that are not ours.
func setData(sec *corev1.Secret, b Bundle) {
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	for k, v := range b.data() {
		if len(v) == 0 {
			delete(sec.Data, k)
		} else {
			sec.Data[k] = v
		}
	}
}

// data is the bundle as Secret data; the successor's keys are empty
// without one.
func (b Bundle) data() map[string][]byte {
	var since []byte
	if !b.NextSince.IsZero() {
		since = []byte(b.NextSince.UTC().Format(time.RFC3339Nano))
	}
	return map[string][]byte{
		SecretCACert: b.CA.Cert, SecretCAKey: b.CA.Key,
		SecretNextCert: b.Next.Cert, SecretNextKey: b.Next.Key, SecretNextSince: since,
		SecretCert: b.Serving.Cert, SecretKey: b.Serving.Key,
		SecretTrust: b.Trust,
	}
}
