// Package nodehttp is the lab's stand-in for a Service backend: a tiny HTTP
// server, one per node namespace, that answers every request with the
// node's name, so a client can tell which node its traffic reached.
//
// The lab runs it as a child process inside each node namespace: either as
// `pylon-lab serve-http --name NODE`, or by re-executing the current binary
// (a test binary included) with the environment variable EnvHelper set to
// "serve-http"; such binaries call [MaybeRun] first thing in main or TestMain.
package nodehttp

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// EnvHelper selects a helper role when a binary is re-executed by the lab.
const EnvHelper = "PYLON_LAB_HELPER"

// Role is the EnvHelper value that runs this server.
const Role = "serve-http"

// NodeHeader carries the node name in every response, besides the body.
const NodeHeader = "X-Pylon-Node"

// Handler answers every request with the node's name and a newline.
func Handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(NodeHeader, name)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, name+"\n")
	})
}

// Serve serves Handler(name) on l until ctx ends, then shuts down.
func Serve(ctx context.Context, l net.Listener, name string) error {
	srv := &http.Server{Handler: Handler(name), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http for %s: %w", name, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}

// Main runs the server from command-line arguments (--name, --listen) until
// SIGINT or SIGTERM, and returns the process exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet(Role, flag.ContinueOnError)
	name := fs.String("name", "", "node name to answer with (required)")
	listen := fs.String("listen", "[::]:80", "address to listen on (:: serves IPv4 and IPv6)")
	fs.String("run", "", "lab run directory (unused: it marks the process as the run's in process listings)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" {
		fmt.Fprintln(os.Stderr, "serve-http: --name is required")
		return 2
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-http:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, l, *name); err != nil {
		fmt.Fprintln(os.Stderr, "serve-http:", err)
		return 1
	}
	return 0
}

// MaybeRun runs the server and exits if this process was started as the
// lab's helper (EnvHelper=serve-http); otherwise it returns at once. The
// server's flags are the process arguments.
func MaybeRun() {
	if os.Getenv(EnvHelper) != Role {
		return
	}
	os.Exit(Main(os.Args[1:]))
}
