package speaker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/bgp"
	"github.com/pylonlb/pylon/internal/cmdutil"
	"github.com/pylonlb/pylon/internal/configwatch"
	"github.com/pylonlb/pylon/internal/heartbeat"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/metricsauth"
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
	// With MetricsSecure, over HTTPS, and /metrics only to users the API
	// server authorizes (package metricsauth); the certificate comes from
	// MetricsCertDir, else is self-signed. MetricsHosts are the
	// self-signed certificate's names.
	MetricsAddr    string
	MetricsSecure  bool
	MetricsCertDir string
	MetricsHosts   []string
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
	// Heartbeat configures the fast failure detector (name, listen
	// address, key and logger filled in); HeartbeatPort 0 runs none.
	Heartbeat     heartbeat.Config
	HeartbeatPort uint16
	// BGPListenPort is gobgp's listen port; -1 never listens.
	BGPListenPort int32
	// ExtraPeers are joined in addition to the Nodes' addresses.
	ExtraPeers []netip.AddrPort
	// StartupGrace and HandoffTimeout: see Config.
	StartupGrace, HandoffTimeout time.Duration
	// RestartGrace: see Config. Rolling, when set, says whether this
	// speaker stops for a rolling update; otherwise it is read from the
	// API: the DaemonSet named DaemonSet is newer than the template this
	// speaker's pod was made from (PodTemplateGeneration, its
	// pod-template-generation label; 0 means not run by a DaemonSet).
	RestartGrace time.Duration
	// GracefulShutdown: see Config.
	GracefulShutdown      time.Duration
	Rolling               func() bool
	DaemonSet             string
	PodTemplateGeneration int64
	// Registerer receives the metrics; Gatherer, when set, serves them on
	// /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Logger receives the speaker's logs.
	Logger *slog.Logger
}

// Components are the speaker's I/O components. Detector may be nil.
type Components struct {
	Members   Members
	Announcer Announcer
	NewRouter func(routerID netip.Addr) (Router, error)
	Detector  Detector
}

// Process is a whole speaker: its API client and informers, the
// configuration watcher, the event and status writers, the agent and the
// HTTP endpoints. It uses client-go's informers directly, not a
// controller-runtime manager: see package kube for why.
type Process struct {
	opts     Options
	cluster  *Cluster
	config   *configwatch.Informers
	watcher  *configwatch.Watcher
	recorder *pace.Recorder
	status   *statusq.Queue
	agent    *Agent
	health   *Health
	// metricsAuth guards /metrics when Options.MetricsSecure is set.
	metricsAuth *metricsauth.Authorizer
}

// NewProcess builds a speaker with its real components (memberlist
// gossip, ARP/NDP responders, gobgp). It starts nothing.
func NewProcess(cfg *rest.Config, opts Options) (*Process, error) {
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
	c := Components{Members: members, Announcer: announcer, NewRouter: routerFactory(opts)}
	if opts.HeartbeatPort != 0 {
		if c.Detector, err = newDetector(opts); err != nil {
			return nil, fmt.Errorf("set up the fast failure detector: %w", err)
		}
	}
	return NewProcessWith(cfg, opts, c)
}

// newDetector builds the fast failure detector: on the gossip's bind
// address (all addresses when it has none) at HeartbeatPort, its packets
// authenticated with the gossip key.
func newDetector(opts Options) (*heartbeat.Detector, error) {
	hc := opts.Heartbeat
	hc.Name, hc.Logger = opts.NodeName, opts.Logger.With("component", "heartbeat")
	bind := netip.IPv4Unspecified()
	if a := opts.Membership.BindAddr; a != "" {
		var err error
		if bind, err = netip.ParseAddr(a); err != nil {
			return nil, fmt.Errorf("bind address %q: %w", a, err)
		}
	}
	hc.ListenAddr = netip.AddrPortFrom(bind, opts.HeartbeatPort)
	hc.Key, hc.Insecure = opts.Membership.SecretKey, opts.Membership.Insecure
	return heartbeat.New(hc)
}

// NewProcessWith builds a speaker running the given components. It
// starts nothing.
func NewProcessWith(cfg *rest.Config, opts Options, c Components) (*Process, error) {
	scheme, err := kube.Scheme()
	if err != nil {
		return nil, err
	}
	kc, err := kube.New(cfg, scheme)
	if err != nil {
		return nil, err
	}
	p := &Process{opts: opts, health: &Health{}}
	if opts.MetricsSecure {
		rv, err := metricsauth.NewREST(cfg, nil)
		if err != nil {
			return nil, err
		}
		p.metricsAuth = metricsauth.New(metricsauth.Options{Reviewer: rv, Logger: opts.Logger.With("component", "metrics")})
	}
	if p.cluster, err = NewCluster(kc); err != nil {
		return nil, err
	}
	if p.config, err = configwatch.NewInformers(kc, opts.Namespace, opts.Logger.With("component", "configwatch")); err != nil {
		return nil, err
	}
	budget := pace.NewLimiter(opts.EventsStatusQPS, opts.EventsStatusBurst)
	p.recorder = pace.NewRecorder(kc, scheme, pace.RecorderOptions{
		Controller: "pylon-speaker", Instance: "pylon-speaker-" + opts.NodeName, Component: "speaker",
		Limiter: budget, Logger: opts.Logger.With("component", "events"), Registerer: opts.Registerer})
	p.status = statusq.New(kc, "pylon-speaker", opts.Logger.With("component", "status"), nil, budget)
	p.status.Anchor(anchor.NewResolver(anchor.SpeakerRole, kc.ClusterRoleUID))
	p.agent, err = New(Config{
		NodeName: opts.NodeName, Namespace: opts.Namespace, Status: p.status, LBClass: opts.LBClass,
		Cluster: p.cluster, Recorder: p.recorder,
		Members: c.Members, Announcer: c.Announcer, NewRouter: c.NewRouter,
		Detector: c.Detector, DetectorPort: opts.HeartbeatPort,
		MemberPort: uint16(opts.Membership.BindPort), ExtraPeers: opts.ExtraPeers,
		StartupGrace: opts.StartupGrace, HandoffTimeout: opts.HandoffTimeout,
		RestartGrace: opts.RestartGrace, Rolling: rollingFunc(kc, opts),
		GracefulShutdown: opts.GracefulShutdown,
		// p.watcher is made below, before anything runs.
		PublishInterfaces: func(ifaces []v1beta1.SpeakerInterface) { p.watcher.SetInterfaces(ifaces) },
		Registerer:        opts.Registerer, Logger: opts.Logger.With("component", "agent"),
	})
	if err != nil {
		return nil, err
	}
	p.watcher, err = configwatch.New(p.config.Load, configwatch.Options{
		Namespace: opts.Namespace, Component: "speaker", OnConfig: p.agent.SetConfig,
		Recorder: p.recorder, Registerer: opts.Registerer,
		Status: p.status, StateName: "speaker-" + opts.NodeName, StateNode: opts.NodeName,
	})
	if err != nil {
		return nil, err
	}
	p.health.watcher = p.watcher
	return p, nil
}

// Run runs the speaker until ctx ends (then the agent hands its addresses
// over, bounded by HandoffTimeout) or a part fails. The agent starts once
// the informers have listed the cluster.
func (p *Process) Run(ctx context.Context) error {
	ctx = logr.NewContext(ctx, logr.FromSlogHandler(p.opts.Logger.Handler()))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	if addr := p.opts.MetricsAddr; addr != "" && addr != "0" {
		h, tlsCfg, err := p.metricsHandler()
		if err != nil {
			return err
		}
		run("metrics server", func(ctx context.Context) error { return cmdutil.ServeTLS(ctx, addr, h, tlsCfg) })
	}
	if addr := p.opts.PprofAddr; addr != "" && addr != "0" {
		run("pprof server", func(ctx context.Context) error { return cmdutil.Serve(ctx, addr, cmdutil.PprofHandler()) })
	}
	p.cluster.Start(ctx)
	p.config.Start(ctx)
	began := time.Now()
	if cache.WaitForCacheSync(ctx.Done(), p.cluster.HasSynced, p.config.HasSynced) {
		p.opts.Logger.Info("informers synced", "took", time.Since(began).String())
		run("event recorder", p.recorder.Run)
		run("status writer", p.status.Run)
		run("configuration watcher", func(ctx context.Context) error { return p.config.Run(ctx, p.watcher) })
		run("agent", p.agent.Run)
	}
	<-ctx.Done()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// metricsHandler serves /metrics (guarded when secure), /healthz and
// /readyz (open: the kubelet probes them), and the TLS configuration when
// secure.
func (p *Process) metricsHandler() (http.Handler, *tls.Config, error) {
	mux := http.NewServeMux()
	if p.opts.Gatherer != nil {
		var metrics http.Handler = promhttp.HandlerFor(p.opts.Gatherer, promhttp.HandlerOpts{})
		if p.metricsAuth != nil {
			metrics = p.metricsAuth.Wrap(metrics)
		}
		mux.Handle("/metrics", metrics)
	}
	mux.HandleFunc("/healthz", p.health.live)
	mux.HandleFunc("/readyz", p.health.ready)
	if !p.opts.MetricsSecure {
		return mux, nil, nil
	}
	tlsCfg, err := metricsauth.ServingTLS(p.opts.MetricsCertDir, p.opts.MetricsHosts, time.Now())
	if err != nil {
		return nil, nil, err
	}
	return mux, tlsCfg, nil
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

// rollingFunc returns Options.Rolling, or one that asks the API server
// whether this speaker's DaemonSet is rolling out past this pod's template
// (nil when not run by a DaemonSet). Any doubt (the DaemonSet unreadable,
// gone or being deleted) answers false: the addresses are handed over.
func rollingFunc(kc *kube.Client, opts Options) func() bool {
	if opts.Rolling != nil {
		return opts.Rolling
	}
	if opts.DaemonSet == "" || opts.PodTemplateGeneration <= 0 {
		return nil
	}
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m, err := kc.Metadata(ctx, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, opts.Namespace, opts.DaemonSet)
		if err != nil {
			opts.Logger.Warn("read the DaemonSet to tell a rolling update; handing the addresses over", "error", err)
			return false
		}
		return m.DeletionTimestamp == nil && m.Generation > opts.PodTemplateGeneration
	}
}
