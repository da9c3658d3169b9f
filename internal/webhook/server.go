package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/certs"
)

// Path is the URL path the webhook is served on.
const Path = "/validate-pylonlb-io-v1beta1"

// Default object names; the manifests and the controller's RBAC use them.
const (
	DefaultServiceName = "pylon-webhook-service"
	DefaultSecretName  = "pylon-webhook-cert"
	DefaultConfigName  = "pylon-validating-webhook"
)

// Options configures the webhook.
type Options struct {
	// Namespace is Pylon's namespace: its objects are checked, the
	// certificate Secret and the Service live there.
	Namespace string
	// Host and Port are where the webhook listens; Host "" is every
	// address. Port 0 means the webhook is disabled (AddToManager is not
	// called).
	Host string
	Port int
	// CertDir receives the serving certificate files; "" uses a private
	// temporary directory removed on exit.
	CertDir string
	// ExtraSANs are IP addresses and DNS names the serving certificate
	// holds besides the Service's names (labs, tests).
	ExtraSANs []string
	// ServiceName, SecretName and ConfigName override the Service, the
	// certificate Secret and the ValidatingWebhookConfiguration names.
	ServiceName, SecretName, ConfigName string
	// Lifetimes of new certificates; zero means certs.DefaultLifetimes.
	Lifetimes certs.Lifetimes
	// CertCheckInterval is how often certificates and the caBundle are
	// checked; zero means one minute.
	CertCheckInterval time.Duration
	// Clock drives certificate renewal; nil is the real clock.
	Clock clock.Clock
	// Logger; nil logs through the manager's logger.
	Logger *slog.Logger
	// Anchor owns the certificate Secret (package anchor); nil: no owner.
	Anchor *anchor.Resolver
}

// withDefaults fills the defaults.
func (o Options) withDefaults(mgr ctrl.Manager) Options {
	if o.ServiceName == "" {
		o.ServiceName = DefaultServiceName
	}
	if o.SecretName == "" {
		o.SecretName = DefaultSecretName
	}
	if o.ConfigName == "" {
		o.ConfigName = DefaultConfigName
	}
	if o.Lifetimes == (certs.Lifetimes{}) {
		o.Lifetimes = certs.DefaultLifetimes()
	}
	if o.Logger == nil {
		o.Logger = slog.New(logr.ToSlogHandler(mgr.GetLogger().WithName("webhook")))
	}
	return o
}

// certSpec returns the names and lifetimes of the serving certificate.
func (o Options) certSpec() (certs.Spec, error) {
	dns, ips, err := ParseSANs(o.ExtraSANs)
	if err != nil {
		return certs.Spec{}, err
	}
	svc := o.ServiceName + "." + o.Namespace + ".svc"
	spec := certs.Spec{DNSNames: append([]string{svc, svc + ".cluster.local"}, dns...), IPs: ips, Lifetimes: o.Lifetimes}
	return spec, spec.Validate()
}

// ParseSANs splits names into IP addresses and DNS names; blank entries
// are skipped and anything else is an error.
func ParseSANs(names []string) (dns []string, ips []netip.Addr, err error) {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if ip, perr := netip.ParseAddr(n); perr == nil {
			if ip.Zone() != "" {
				return nil, nil, fmt.Errorf("extra SAN %q: an IP address with a zone cannot be in a certificate", n)
			}
			ips = append(ips, ip.Unmap())
			continue
		}
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, nil, fmt.Errorf("extra SAN %q is neither an IP address nor a DNS name: %s", n, errs[0])
		}
		dns = append(dns, n)
	}
	return dns, ips, nil
}

// AddToManager serves the webhook from the manager: on every replica
// (not only the leader), once the manager's cache has synced and the
// certificates are in place, and adds the readiness check "webhook".
func AddToManager(mgr ctrl.Manager, opts Options) error {
	if opts.Namespace == "" || opts.Port <= 0 {
		return errors.New("webhook: Namespace and a Port are required")
	}
	opts = opts.withDefaults(mgr)
	spec, err := opts.certSpec()
	if err != nil {
		return fmt.Errorf("webhook certificate: %w", err)
	}
	r := &runner{
		opts:    opts,
		spec:    spec,
		reader:  mgr.GetAPIReader(),
		writer:  mgr.GetClient(),
		handler: &admission.Webhook{Handler: NewValidator(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetScheme(), opts.Namespace, opts.Logger)},
	}
	if err := mgr.Add(r); err != nil {
		return fmt.Errorf("add webhook server: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", r.checkStarted); err != nil {
		return fmt.Errorf("add webhook readiness check: %w", err)
	}
	return nil
}

// runner bootstraps the certificates, then runs controller-runtime's
// webhook server and the certificate manager until the context ends.
type runner struct {
	opts    Options
	spec    certs.Spec
	reader  certs.Reader
	writer  client.Writer
	handler http.Handler

	mu      sync.Mutex
	started healthz.Checker // nil until the server is created
}

var (
	_ manager.Runnable               = (*runner)(nil)
	_ manager.LeaderElectionRunnable = (*runner)(nil)
)

// NeedLeaderElection is false: every replica serves the webhook.
func (r *runner) NeedLeaderElection() bool { return false }

// Start runs until ctx ends; it fails when the server cannot listen.
func (r *runner) Start(ctx context.Context) error {
	dir := r.opts.CertDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pylon-webhook-")
		if err != nil {
			return fmt.Errorf("create webhook certificate directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cm, err := certs.New(r.reader, r.writer, certs.Options{
		Namespace: r.opts.Namespace, SecretName: r.opts.SecretName, WebhookConfigName: r.opts.ConfigName,
		Spec: r.spec, CertDir: dir, Interval: r.opts.CertCheckInterval, Clock: r.opts.Clock, Logger: r.opts.Logger,
		Anchor: r.opts.Anchor,
	})
	if err != nil {
		return err
	}
	if err := cm.Bootstrap(ctx); err != nil {
		return nil // ctx ended before the certificates were ready
	}
	srv := ctrlwebhook.NewServer(ctrlwebhook.Options{Host: r.opts.Host, Port: r.opts.Port, CertDir: dir})
	srv.Register(Path, r.handler)
	r.mu.Lock()
	r.started = srv.StartedChecker()
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- srv.Start(ctx)
		cancel() // a server that failed stops the certificate loop
	}()
	certErr := cm.Run(ctx)
	cancel()
	if err := errors.Join(<-serveErr, certErr); err != nil {
		return fmt.Errorf("webhook server: %w", err)
	}
	return nil
}

// checkStarted is healthy once the server accepts TLS connections.
func (r *runner) checkStarted(req *http.Request) error {
	r.mu.Lock()
	check := r.started
	r.mu.Unlock()
	if check == nil {
		return errors.New("webhook certificates are not ready yet")
	}
	return check(req)
}
