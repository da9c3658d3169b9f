// Command backend is the HTTP server the lab cluster's test workloads run:
// every answer names the pod and the node that served it, so a client can
// tell which backend its request reached through a Service.
//
//	GET /        200 "POD NODE\n"
//	GET /healthz 200 while serving, 503 once stopping (a readiness probe)
//
// POD_NAME and NODE_NAME come from the downward API. On SIGTERM the server
// first reports itself unready and keeps answering for --drain (the time
// kube-proxy needs to take the pod out of its rules), then stops: a rolling
// update or an eviction never fails a request.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	drain := flag.Duration("drain", 3*time.Second, "how long to keep answering after SIGTERM")
	flag.Parse()
	answer := fmt.Sprintf("%s %s\n", envOr("POD_NAME", "unknown-pod"), envOr("NODE_NAME", "unknown-node"))

	var stopping atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, answer)
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		log.Fatalf("serve %s: %v", *listen, err)
	case <-ctx.Done():
	}
	stopping.Store(true)
	log.Printf("stopping: answering for %v more", *drain)
	time.Sleep(*drain)
	shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("shutdown: %v", err)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
