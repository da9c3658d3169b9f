// Package cmdutil holds the small pieces both binaries' main packages
// share: logging set-up, API client configuration and the scheme.
package cmdutil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Logger returns a JSON slog logger at the named level (debug, info, warn,
// error) and the same sink as a logr.Logger for controller-runtime.
func Logger(level string) (*slog.Logger, logr.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, logr.Discard(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})
	return slog.New(h), logr.FromSlogHandler(h), nil
}

// RESTConfig loads a kubeconfig file, or the in-cluster configuration when
// path is empty, sets the client-side rate limits and turns compression
// off. The API server's
// own priority and fairness protects it; the defaults of client-go (5/10
// requests per second) would make a cold start with many Services crawl.
func RESTConfig(path string, qps float32, burst int, userAgent string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if path == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
	}
	if err != nil {
		return nil, fmt.Errorf("load API client configuration (kubeconfig %q): %w", path, err)
	}
	cfg.QPS, cfg.Burst, cfg.UserAgent = qps, burst, userAgent
	// No gzip: the API server is on the cluster network, and compressing a
	// list of a thousand Services costs it CPU, and us a decompressor kept
	// around afterwards, to save bandwidth nobody is short of.
	cfg.DisableCompression = true
	return cfg, nil
}

// EnvOr returns the environment variable's value, or def when unset.
func EnvOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// Garbage collector targets (--gc-percent) used unless GOGC is set.
// Pylon's processes are idle most of the time, so trading CPU during bursts
// for a smaller footprint is worth it: both let the heap grow to 1.25× the
// live data (not Go's 2×). Measured in the lab with 1,000 Services:
// controller 3.3 MiB less RSS than at 1.5×; speaker 4–5.5 MiB less than at
// 1.5× (L2 58.9 → 53.4 MiB, BGP 70.8 → 66.7 MiB) for 16–40% more speaker
// CPU while the Services arrive. The speaker runs on every node: its
// memory counts once per node, its CPU only during bursts.
const (
	SpeakerGCPercent    = 25
	ControllerGCPercent = 25
)

// GCPercentUsage is the help text of --gc-percent.
const GCPercentUsage = "garbage collector target: the heap may grow this many percent above the live data before a collection; " +
	"higher uses more memory and less CPU (the GOGC environment variable, when set, wins)"

// TuneGC applies percent as the garbage collector target unless the GOGC
// environment variable is set.
func TuneGC(percent int) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(percent)
	}
}

// HeapProfileRate is the sampling interval of heap profiles when pprof is
// served: fine enough to see what a thousand Services cost.
const HeapProfileRate = 16 << 10

// ProfileHeap samples heap allocations every HeapProfileRate bytes when
// profiles are served (pprofAddr not empty or "0"), and not at all
// otherwise: nobody could read the samples, and their tables cost memory.
func ProfileHeap(pprofAddr string) {
	if pprofAddr == "" || pprofAddr == "0" {
		goruntime.MemProfileRate = 0
		return
	}
	goruntime.MemProfileRate = HeapProfileRate
}

// Serve serves handler on addr until ctx ends, then shuts the server down
// (waiting up to a second for requests in flight).
func Serve(ctx context.Context, addr string, handler http.Handler) error {
	return ServeTLS(ctx, addr, handler, nil)
}

// ServeTLS is Serve over TLS with cfg (plain HTTP when cfg is nil).
func ServeTLS(ctx context.Context, addr string, handler http.Handler, cfg *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", addr, err)
	}
	return nil
}

// PprofHandler serves Go's profiles under /debug/pprof/.
func PprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
