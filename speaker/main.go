// Command speaker runs Pylon's per-node speaker: it makes the Service
// addresses reachable by answering ARP/NDP (L2 mode) or announcing routes
// over BGP (BGP mode).
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/klog/v2"

	"github.com/pylonlb/pylon/internal/cmdutil"
	"github.com/pylonlb/pylon/internal/heartbeat"
	"github.com/pylonlb/pylon/internal/l2"
	"github.com/pylonlb/pylon/internal/membership"
	"github.com/pylonlb/pylon/internal/pace"
	"github.com/pylonlb/pylon/internal/speaker"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "speaker:", err)
		os.Exit(1)
	}
}

// flags holds the command line.
type flags struct {
	kubeconfig, logLevel, keyFile, join, exclude string
	insecure                                     bool
	qps                                          float64
	burst, gcPercent                             int
	opts                                         speaker.Options
}

func parseFlags() *flags {
	// Our own flag set: the global one collects flags of libraries.
	fs := flag.NewFlagSet("speaker", flag.ExitOnError)
	f := &flags{opts: speaker.Options{Membership: membership.DefaultConfig(), L2: l2.DefaultConfig(), Heartbeat: heartbeat.DefaultConfig()}}
	o, m, h := &f.opts, &f.opts.Membership, &f.opts.Heartbeat
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty: in-cluster configuration")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Float64Var(&f.qps, "kube-api-qps", 50, "client-side limit of API requests per second")
	fs.IntVar(&f.burst, "kube-api-burst", 100, "client-side burst of API requests")
	fs.IntVar(&f.gcPercent, "gc-percent", cmdutil.SpeakerGCPercent, cmdutil.GCPercentUsage)
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (env NODE_NAME)")
	fs.StringVar(&o.Namespace, "namespace", cmdutil.EnvOr("POD_NAMESPACE", "pylon-system"), "namespace of Pylon's configuration objects")
	fs.StringVar(&o.LBClass, "lb-class", "", "spec.loadBalancerClass to serve; empty: Services without a class")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":7473", "listen address of /metrics, /healthz and /readyz; 0 disables")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", true, "serve /metrics, /healthz and /readyz over HTTPS, /metrics only to users the API server authorizes (GET on the non-resource URL /metrics); false: plain HTTP, open to all")
	fs.StringVar(&o.MetricsCertDir, "metrics-cert-dir", "", "directory of the metrics serving certificate (tls.crt, tls.key; reloaded when they change); empty: self-signed")
	fs.Float64Var(&o.EventsStatusQPS, "events-status-qps", pace.DefaultQPS, "API writes per second for Events and status objects; they trail behind during bursts while Service addresses never wait; 0: unlimited")
	fs.IntVar(&o.EventsStatusBurst, "events-status-burst", pace.DefaultBurst, "burst of API writes for Events and status objects")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", "", "listen address of Go's /debug/pprof profiles; empty: off")
	fs.StringVar(&m.BindAddr, "memberlist-bind-addr", "", "gossip listen address; empty: all addresses")
	fs.IntVar(&m.BindPort, "memberlist-port", membership.DefaultPort, "gossip TCP and UDP port")
	fs.StringVar(&m.AdvertiseAddr, "memberlist-advertise-addr", os.Getenv("NODE_IP"), "address peers reach this speaker at (env NODE_IP); empty: the bind address")
	fs.StringVar(&f.keyFile, "memberlist-key-file", "/etc/pylon/memberlist/key", "file holding the gossip encryption secret")
	fs.BoolVar(&f.insecure, "memberlist-insecure", false, "gossip without encryption (not recommended)")
	b := membership.BackedConfig()
	fs.DurationVar(&m.ProbeInterval, "memberlist-probe-interval", m.ProbeInterval, fmt.Sprintf("failure detection probe interval (%v with the fast detector on)", b.ProbeInterval))
	fs.DurationVar(&m.ProbeTimeout, "memberlist-probe-timeout", m.ProbeTimeout, fmt.Sprintf("failure detection probe timeout (%v with the fast detector on)", b.ProbeTimeout))
	fs.IntVar(&m.SuspicionMult, "memberlist-suspicion-mult", m.SuspicionMult, fmt.Sprintf("suspicion timeout multiplier (%d with the fast detector on)", b.SuspicionMult))
	hbPort := fs.Uint("heartbeat-port", heartbeat.DefaultPort, "UDP and TCP port of the fast failure detector (watchers confirm a silent node before it is declared dead); 0: off, memberlist alone detects failures")
	fs.DurationVar(&h.Interval, "heartbeat-interval", h.Interval, "fast failure detector: heartbeat interval to each watcher")
	fs.DurationVar(&h.Timeout, "heartbeat-timeout", h.Timeout, "fast failure detector: silence after which a watcher suspects a node")
	fs.DurationVar(&h.ProbeTimeout, "heartbeat-probe-timeout", h.ProbeTimeout, "fast failure detector: how long a suspect's kernel has to answer a TCP probe")
	fs.IntVar(&h.Watchers, "heartbeat-watchers", h.Watchers, "fast failure detector: how many nodes watch each node (a verdict needs two)")
	fs.StringVar(&f.join, "join", "", "extra speakers to join, comma-separated host:port")
	fs.StringVar(&f.exclude, "interfaces-exclude", strings.Join(l2.DefaultExcludes(), ","), "interface name patterns never used for ARP/NDP")
	fs.DurationVar(&o.L2.RefreshInterval, "l2-refresh-interval", o.L2.RefreshInterval, "interval of gratuitous ARP/NA refreshes; 0 disables")
	fs.DurationVar(&o.StartupGrace, "startup-grace", 3*time.Second, "longest wait to meet peers before answering ARP/NDP")
	fs.DurationVar(&o.HandoffTimeout, "handoff-timeout", 2*time.Second, "longest wait for successors to take over addresses on shutdown")
	fs.DurationVar(&o.RestartGrace, "restart-grace", 10*time.Second, "how long peers keep a speaker stopped for a rolling update in elections, so its addresses stay with its node for its successor (0: always hand them over)")
	fs.DurationVar(&o.GracefulShutdown, "bgp-graceful-shutdown", 2*time.Second, "on stop, how long BGP sessions stay up after the paths are re-announced with the GRACEFUL_SHUTDOWN community (65535:0, RFC 8326) so routers move traffic first; 0: close at once")
	fs.StringVar(&o.DaemonSet, "daemonset-name", "pylon-speaker", "the speakers' DaemonSet, read on shutdown to tell a rolling update")
	fs.Int64Var(&o.PodTemplateGeneration, "pod-template-generation", 0, "this pod's pod-template-generation label (downward API); 0: not run by a DaemonSet, every stop hands the addresses over")
	bgpPort := fs.Int("bgp-listen-port", -1, "TCP port gobgp listens on; -1: dial out only")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: never returns an error
	o.BGPListenPort = int32(*bgpPort)
	if *hbPort > 65535 {
		fmt.Fprintf(os.Stderr, "speaker: --heartbeat-port %d is not a port\n", *hbPort)
		os.Exit(2)
	}
	o.HeartbeatPort = uint16(*hbPort)
	if o.HeartbeatPort != 0 {
		backMembership(fs, m)
	}
	return f
}

func run() error {
	cmdutil.ListThenWatch()
	f := parseFlags()
	cmdutil.TuneGC(f.gcPercent)
	cmdutil.ProfileHeap(f.opts.PprofAddr)
	log, rlog, err := cmdutil.Logger(f.logLevel)
	if err != nil {
		return err
	}
	klog.SetLogger(rlog) // client-go logs through klog
	opts := f.opts
	if opts.NodeName == "" {
		return fmt.Errorf("--node-name (or NODE_NAME) is required")
	}
	if err := gossipKey(f, &opts); err != nil {
		return err
	}
	if opts.ExtraPeers, err = parsePeers(f.join); err != nil {
		return err
	}
	opts.L2.ExcludeInterfaces = splitList(f.exclude)
	opts.MetricsHosts = []string{opts.NodeName, os.Getenv("POD_IP"), os.Getenv("NODE_IP"), "localhost", "127.0.0.1"}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Registerer, opts.Gatherer, opts.Logger = registry, registry, log
	cfg, err := cmdutil.RESTConfig(f.kubeconfig, float32(f.qps), f.burst, "pylon-speaker")
	if err != nil {
		return err
	}
	proc, err := speaker.NewProcess(cfg, opts)
	if err != nil {
		return err
	}
	log.Info("starting speaker", "node", opts.NodeName, "namespace", opts.Namespace)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return proc.Run(ctx)
}

// backMembership gives memberlist the timing of a membership backed by
// the fast failure detector (membership.BackedConfig), for each timing
// flag the command line does not set.
func backMembership(fs *flag.FlagSet, m *membership.Config) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	b := membership.BackedConfig()
	if !set["memberlist-probe-interval"] {
		m.ProbeInterval = b.ProbeInterval
	}
	if !set["memberlist-probe-timeout"] {
		m.ProbeTimeout = b.ProbeTimeout
	}
	if !set["memberlist-suspicion-mult"] {
		m.SuspicionMult = b.SuspicionMult
	}
}

// gossipKey reads the gossip secret. Any text works: the AES key is its
// SHA-256, so a Secret of any length gives a 32-byte key.
func gossipKey(f *flags, opts *speaker.Options) error {
	if f.insecure {
		opts.Membership.Insecure = true
		return nil
	}
	b, err := os.ReadFile(f.keyFile)
	if err != nil {
		return fmt.Errorf("read gossip key (or pass --memberlist-insecure): %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return fmt.Errorf("gossip key file %s is empty", f.keyFile)
	}
	sum := sha256.Sum256([]byte(text))
	opts.Membership.SecretKey = sum[:]
	return nil
}

// parsePeers parses a comma-separated list of host:port.
func parsePeers(s string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, p := range splitList(s) {
		ap, err := netip.ParseAddrPort(p)
		if err != nil {
			return nil, fmt.Errorf("--join %q: %w", p, err)
		}
		out = append(out, ap)
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
