package speaker

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/configwatch"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/pace"
	"github.com/pylonlb/pylon/internal/statusq"
)

// Options configures a speaker process.
type Options struct {
	// NodeName is this node's name; Namespace is Pylon's install namespace.
	NodeName, Namespace string
	// LBClass is the loadBalancerClass served.
	LBClass string
	// MetricsAddr serves /metrics, /healthz and /readyz; "0" disables.
	MetricsAddr string
	// PprofAddr serves Go's /debug/pprof; "" or "0" disables.
	PprofAddr string
	// EventsStatusQPS and EventsStatusBurst are the budget of Events and
	// status-object writes (package pace); QPS <= 0: unlimited.
	EventsStatusQPS   float64
	EventsStatusBurst int
	// Membership configures gossip (node name and logger are filled in).
	Membership membership.Config
	// L2 configures the ARP/NDP responders (logger filled in).
	L2 l2.Config
	// BGPListenPort is gobgp's listen port; -1 never listens.
	BGPListenPort int32
	// ExtraPeers are joined in addition to the Nodes' addresses.
	ExtraPeers []netip.AddrPort
	// StartupGrace and HandoffTimeout: see Config.
	StartupGrace, HandoffTimeout time.Duration
	// Registerer receives the metrics.
	Registerer prometheus.Registerer
	// Logger receives the speaker's logs.
	Logger *slog.Logger
	// SkipNameValidation lets tests run several managers in one process.
	SkipNameValidation bool
}

// NewManager builds a manager whose cache holds what the speaker reads:
// Services, EndpointSlices and Nodes cluster-wide, Pylon's objects and
// Secrets in the install namespace.
func NewManager(cfg *rest.Config, scheme *runtime.Scheme, opts Options, health *Health) (ctrl.Manager, error) {
	byObject := configwatch.CacheByObject(opts.Namespace)
	maps.Copy(byObject, cacheTrims())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()},
		Metrics: metricsserver.Options{BindAddress: opts.MetricsAddr, ExtraHandlers: map[string]http.Handler{
			"/healthz": http.HandlerFunc(health.live), "/readyz": http.HandlerFunc(health.ready),
		}},
		HealthProbeBindAddress:  "0",
		PprofBindAddress:        opts.PprofAddr,
		GracefulShutdownTimeout: ptrTo(opts.HandoffTimeout + 10*time.Second),
		Controller:              ctrlconfig.Controller{SkipNameValidation: &opts.SkipNameValidation},
	})
	if err != nil {
		return nil, fmt.Errorf("create speaker manager: %w", err)
	}
	return mgr, nil
}

// Components are the speaker's I/O components.
type Components struct {
	Members   Members
	Announcer Announcer
	NewRouter func(routerID netip.Addr) (Router, error)
}

// Setup builds the speaker's real components (memberlist gossip, ARP/NDP
// responders, gobgp) and registers everything with the manager.
func Setup(mgr ctrl.Manager, opts Options, health *Health) (*Agent, error) {
	mcfg := opts.Membership
	mcfg.NodeName, mcfg.Logger = opts.NodeName, opts.Logger.With("component", "membership")
	members, err := membership.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("set up membership: %w", err)
	}
	lcfg := opts.L2
	lcfg.Logger = opts.Logger.With("component", "l2")
	announcer, err := l2.New(lcfg)
	if err != nil {
		return nil, fmt.Errorf("set up L2 announcer: %w", err)
	}
	return SetupWith(mgr, opts, health, Components{Members: members, Announcer: announcer, NewRouter: routerFactory(opts)})
}

// SetupWith registers the configuration watcher and the agent, running
// the given components, with the manager.
func SetupWith(mgr ctrl.Manager, opts Options, health *Health, c Components) (*Agent, error) {
	if err := indexEndpointSlices(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	budget := pace.NewLimiter(opts.EventsStatusQPS, opts.EventsStatusBurst)
	recorder := pace.NewRecorder(mgr.GetClient(), mgr.GetScheme(), pace.RecorderOptions{
		Controller: "pylon-speaker", Instance: "pylon-speaker-" + opts.NodeName, Component: "speaker",
		Limiter: budget, Logger: opts.Logger.With("component", "events"), Registerer: opts.Registerer})
	if err := mgr.Add(recorder); err != nil {
		return nil, fmt.Errorf("add event recorder: %w", err)
	}
	status := statusq.New(mgr.GetClient(), "pylon-speaker", opts.Logger.With("component", "status"), nil, budget)
	if err := mgr.Add(manager.RunnableFunc(status.Run)); err != nil {
		return nil, fmt.Errorf("add status writer: %w", err)
	}
	agent, err := New(Config{
		NodeName: opts.NodeName, Namespace: opts.Namespace, Status: status, LBClass: opts.LBClass, Cache: mgr.GetCache(), Recorder: recorder,
		Members: c.Members, Announcer: c.Announcer, NewRouter: c.NewRouter,
		MemberPort: uint16(opts.Membership.BindPort), ExtraPeers: opts.ExtraPeers,
		StartupGrace: opts.StartupGrace, HandoffTimeout: opts.HandoffTimeout,
		Registerer: opts.Registerer, Logger: opts.Logger.With("component", "agent"),
	})
	if err != nil {
		return nil, err
	}
	watcher, err := configwatch.New(mgr.GetClient(), configwatch.Options{
		Namespace: opts.Namespace, Component: "speaker", OnConfig: agent.SetConfig,
		Recorder: recorder, Registerer: opts.Registerer,
		Status: status, StateName: "speaker-" + opts.NodeName, StateNode: opts.NodeName,
	})
	if err != nil {
		return nil, err
	}
	if err := watcher.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up configuration watcher: %w", err)
	}
	health.watcher = watcher
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return agent.Run(logr.NewContext(ctx, logr.FromSlogHandler(opts.Logger.Handler())))
	})); err != nil {
		return nil, fmt.Errorf("add speaker agent: %w", err)
	}
	return agent, nil
}

// routerFactory builds gobgp-backed routers.
func routerFactory(opts Options) func(netip.Addr) (Router, error) {
	return func(id netip.Addr) (Router, error) {
		return bgp.New(bgp.Config{RouterID: id, ListenPort: opts.BGPListenPort, Logger: opts.Logger.With("component", "bgp")})
	}
}

// Health serves the speaker's liveness and readiness.
type Health struct {
	watcher *configwatch.Watcher
}

// live answers liveness: the process serves HTTP.
func (h *Health) live(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// ready answers readiness: a valid configuration has been loaded.
func (h *Health) ready(w http.ResponseWriter, _ *http.Request) {
	if h.watcher == nil || !h.watcher.Status().Loaded {
		http.Error(w, "no valid configuration loaded yet", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func ptrTo[T any](v T) *T { return &v }
