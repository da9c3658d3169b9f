// Package controller assembles Pylon's controller: the configuration
// watcher, the Service allocation reconciler and the pool status writer,
// on one controller-runtime manager.
package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/configwatch"
	"github.com/pylonlb/pylon/internal/configwatch/crwatch"
	"github.com/pylonlb/pylon/internal/controller/allocation"
	"github.com/pylonlb/pylon/internal/controller/poolstatus"
	"github.com/pylonlb/pylon/internal/kube/crwriter"
	"github.com/pylonlb/pylon/internal/metricsauth"
	"github.com/pylonlb/pylon/internal/pace"
	"github.com/pylonlb/pylon/internal/statusq"
	"github.com/pylonlb/pylon/internal/webhook"
)

// Options configures the controller.
type Options struct {
	// Namespace is Pylon's install namespace (configuration objects).
	Namespace string
	// LBClass is the loadBalancerClass served; "" serves Services without one.
	LBClass string
	// MetricsAddr and HealthAddr are listen addresses; "0" disables.
	MetricsAddr, HealthAddr string
	// MetricsSecure serves /metrics over HTTPS to users the API server
	// authorizes only (package metricsauth), with the certificate in
	// MetricsCertDir (tls.crt, tls.key) or a self-signed one.
	MetricsSecure  bool
	MetricsCertDir string
	// PprofAddr serves Go's /debug/pprof; "" or "0" disables.
	PprofAddr string
	// EventsStatusQPS and EventsStatusBurst are the budget of Events and
	// status-object writes (package pace); QPS <= 0: unlimited.
	EventsStatusQPS   float64
	EventsStatusBurst int
	// LeaderElection makes replicas elect one active controller.
	LeaderElection bool
	// Logger receives what is not tied to a reconcile (nil: discarded).
	Logger *slog.Logger
	// Registerer receives Pylon's metrics (normally controller-runtime's
	// registry, served on MetricsAddr).
	Registerer prometheus.Registerer
	// PoolStatusInterval is the shortest time between two status writes of
	// one pool.
	PoolStatusInterval time.Duration
	// SkipNameValidation lets tests run several managers in one process.
	SkipNameValidation bool
	// Webhook configures the validating webhook; Port 0 disables it. Its
	// Namespace is taken from Namespace.
	Webhook webhook.Options
}

// NewManager builds a manager whose cache holds only what the controller
// reads: Services, Namespaces and Nodes (their addresses) cluster-wide,
// and Pylon's objects and Secrets in the install namespace. Managed
// fields, and of Services and Nodes all the controller does not read, are
// dropped to save memory.
func NewManager(cfg *rest.Config, scheme *runtime.Scheme, opts Options) (ctrl.Manager, error) {
	byObject := crwatch.CacheByObject(opts.Namespace)
	byObject[&corev1.Service{}] = cache.ByObject{Transform: allocation.TrimService}
	byObject[&corev1.Node{}] = cache.ByObject{Transform: allocation.TrimNode}
	// The speakers' published subnets (reserved network and broadcast
	// addresses), in Pylon's namespace only.
	byObject[&v1beta1.ConfigurationState{}] = cache.ByObject{Namespaces: map[string]cache.Config{opts.Namespace: {}}}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                 metricsOptions(opts),
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "pylon-controller",
		LeaderElectionNamespace: opts.Namespace,
		// A replica that stops (rolling update, deleted pod, drain) gives
		// the lease up, so another leads at once instead of after the
		// lease expires; the process exits right after.
		LeaderElectionReleaseOnCancel: true,
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &opts.SkipNameValidation},
	})
	if err != nil {
		return nil, fmt.Errorf("create controller manager: %w", err)
	}
	return mgr, nil
}

// metricsOptions configures the manager's metrics server.
func metricsOptions(opts Options) metricsserver.Options {
	mo := metricsserver.Options{BindAddress: opts.MetricsAddr}
	if !opts.MetricsSecure {
		return mo
	}
	mo.SecureServing = true
	if opts.MetricsCertDir != "" {
		mo.CertDir, mo.CertName, mo.KeyName = opts.MetricsCertDir, metricsauth.CertFile, metricsauth.KeyFile
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mo.FilterProvider = func(c *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
		rv, err := metricsauth.NewREST(c, hc)
		if err != nil {
			return nil, err
		}
		a := metricsauth.New(metricsauth.Options{Reviewer: rv, Logger: logger.With("component", "metrics")})
		return func(_ logr.Logger, h http.Handler) (http.Handler, error) { return a.Wrap(h), nil }, nil
	}
	return mo
}

// Setup registers the controller's reconcilers with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	budget := pace.NewLimiter(opts.EventsStatusQPS, opts.EventsStatusBurst)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname() // the pod's name
	recorder := pace.NewRecorder(crwriter.New(mgr.GetClient()), mgr.GetScheme(), pace.RecorderOptions{
		Controller: "pylon-controller", Instance: "pylon-controller-" + host, Component: "controller",
		Limiter: budget, Logger: logger.With("component", "events"), Registerer: opts.Registerer})
	if err := mgr.Add(recorder); err != nil {
		return fmt.Errorf("add event recorder: %w", err)
	}
	var pools *poolstatus.Reconciler
	var watcher *configwatch.Watcher
	alloc := allocation.New(mgr.GetClient(), allocation.Options{
		LBClass:      opts.LBClass,
		Recorder:     recorder,
		Registerer:   opts.Registerer,
		OnChange:     func() { pools.Changed() },
		Namespace:    opts.Namespace,
		OnConditions: func(cs []metav1.Condition) { watcher.SetConditions(cs...) },
	})
	pools = poolstatus.New(mgr.GetClient(), alloc, poolstatus.Options{Namespace: opts.Namespace, MinInterval: opts.PoolStatusInterval})
	owner := anchor.NewResolver(anchor.ControllerRole, func(ctx context.Context, name string) (types.UID, error) {
		cr := &rbacv1.ClusterRole{}
		err := mgr.GetAPIReader().Get(ctx, client.ObjectKey{Name: name}, cr)
		return cr.UID, err
	})
	status := statusq.New(crwriter.New(mgr.GetClient()), "pylon-controller", nil, nil, budget)
	status.Anchor(owner)
	if err := mgr.Add(manager.RunnableFunc(status.Run)); err != nil {
		return fmt.Errorf("add status writer: %w", err)
	}
	var err error
	watcher, err = configwatch.New(crwatch.Source(mgr.GetClient(), opts.Namespace), configwatch.Options{
		Namespace:  opts.Namespace,
		Component:  "controller",
		Status:     status,
		StateName:  "controller",
		OnConfig:   alloc.SetConfig,
		Recorder:   recorder,
		Registerer: opts.Registerer,
	})
	if err != nil {
		return err
	}
	for name, setup := range map[string]func(ctrl.Manager) error{
		"allocation": alloc.SetupWithManager, "poolstatus": pools.SetupWithManager, "configwatch": func(m ctrl.Manager) error { return crwatch.Setup(m, watcher, opts.Namespace, "controller") },
	} {
		if err := setup(mgr); err != nil {
			return fmt.Errorf("set up %s reconciler: %w", name, err)
		}
	}
	secret := manager.RunnableFunc(func(ctx context.Context) error {
		return ensureMemberlistSecret(ctx, mgr.GetAPIReader(), mgr.GetClient(), opts.Namespace, owner)
	})
	if err := mgr.Add(secret); err != nil {
		return fmt.Errorf("add memberlist secret check: %w", err)
	}
	if opts.Webhook.Port != 0 {
		wo := opts.Webhook
		wo.Namespace, wo.Anchor = opts.Namespace, owner
		if err := webhook.AddToManager(mgr, wo); err != nil {
			return fmt.Errorf("set up validating webhook: %w", err)
		}
	}
	if opts.LeaderElection {
		lo := &leaseOwner{reader: mgr.GetAPIReader(), writer: mgr.GetClient(), namespace: opts.Namespace, anchor: owner, log: logger}
		if err := mgr.Add(lo); err != nil {
			return fmt.Errorf("add lease owner: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", func(*http.Request) error { return nil }); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	// Only the leader loads the configuration; a standby replica is ready
	// once it serves the webhook (its own check).
	elected := mgr.Elected()
	return mgr.AddReadyzCheck("config", func(*http.Request) error {
		select {
		case <-elected:
		default:
			return nil
		}
		if !watcher.Status().Loaded {
			return fmt.Errorf("no valid configuration loaded yet")
		}
		return nil
	})
}
