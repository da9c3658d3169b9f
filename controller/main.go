// Command controller runs Pylon's controller: it assigns external
// addresses from IPAddressPools to Services of type LoadBalancer.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pylonlb/pylon/internal/cmdutil"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/pace"
	"github.com/pylonlb/pylon/internal/scheme"
	"github.com/pylonlb/pylon/internal/webhook"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
}

func run() error {
	cmdutil.ListThenWatch()
	// Our own flag set: controller-runtime registers --kubeconfig on the
	// global one.
	fs := flag.NewFlagSet("controller", flag.ExitOnError)
	var (
		kubeconfig = fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty: in-cluster configuration")
		opts       controller.Options
		logLevel   = fs.String("log-level", "info", "log level: debug, info, warn, error")
		qps        = fs.Float64("kube-api-qps", 1000, "client-side limit of API requests per second")
		burst      = fs.Int("kube-api-burst", 2000, "client-side burst of API requests")
		gcPercent  = fs.Int("gc-percent", cmdutil.ControllerGCPercent, cmdutil.GCPercentUsage)
	)
	fs.StringVar(&opts.Namespace, "namespace", cmdutil.EnvOr("POD_NAMESPACE", "pylon-system"), "namespace of Pylon's configuration objects")
	fs.StringVar(&opts.LBClass, "lb-class", "", "spec.loadBalancerClass to serve; empty: Services without a class")
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":7472", "metrics listen address; 0 disables")
	fs.BoolVar(&opts.MetricsSecure, "metrics-secure", true, "serve /metrics over HTTPS, only to users the API server authorizes (GET on the non-resource URL /metrics); false: plain HTTP, open to all")
	fs.StringVar(&opts.MetricsCertDir, "metrics-cert-dir", "", "directory of the metrics serving certificate (tls.crt, tls.key; reloaded when they change); empty: self-signed")
	fs.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":7474", "health probe listen address; 0 disables")
	fs.Float64Var(&opts.EventsStatusQPS, "events-status-qps", pace.DefaultQPS, "API writes per second for Events and status objects; they trail behind during bursts while Service addresses never wait; 0: unlimited")
	fs.IntVar(&opts.EventsStatusBurst, "events-status-burst", pace.DefaultBurst, "burst of API writes for Events and status objects")
	fs.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "listen address of Go's /debug/pprof profiles; empty: off")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect one active controller among replicas")
	fs.DurationVar(&opts.PoolStatusInterval, "pool-status-interval", time.Second, "shortest time between two status writes of one pool")
	fs.IntVar(&opts.Webhook.Port, "webhook-port", 9443, "HTTPS port of the validating webhook; 0 disables it")
	fs.StringVar(&opts.Webhook.CertDir, "webhook-cert-dir", "", "directory for the webhook's serving certificate files; empty: a private temporary directory")
	fs.Func("webhook-extra-sans", "comma-separated extra IP addresses and DNS names for the webhook's serving certificate", func(s string) error {
		names := strings.Split(s, ",")
		if _, _, err := webhook.ParseSANs(names); err != nil {
			return err
		}
		opts.Webhook.ExtraSANs = append(opts.Webhook.ExtraSANs, names...)
		return nil
	})
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	cmdutil.TuneGC(*gcPercent)
	cmdutil.ProfileHeap(opts.PprofAddr)

	slogger, log, err := cmdutil.Logger(*logLevel)
	if err != nil {
		return err
	}
	ctrl.SetLogger(log)
	cfg, err := cmdutil.RESTConfig(*kubeconfig, float32(*qps), *burst, "pylon-controller")
	if err != nil {
		return err
	}
	scheme, err := scheme.All()
	if err != nil {
		return err
	}
	opts.Registerer, opts.Logger = ctrlmetrics.Registry, slogger
	mgr, err := controller.NewManager(cfg, scheme, opts)
	if err != nil {
		return err
	}
	if err := controller.Setup(mgr, opts); err != nil {
		return err
	}
	log.Info("starting controller", "namespace", opts.Namespace, "lbClass", opts.LBClass, "webhookPort", opts.Webhook.Port)
	return mgr.Start(ctrl.SetupSignalHandler())
}
