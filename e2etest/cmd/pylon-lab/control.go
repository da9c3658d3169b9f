package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/runs"
)

// controlSocketName is the control socket of a lab run by `pylon-lab up`,
// in its run directory: other pylon-lab commands act on the lab through it
// (the up process owns the lab's processes).
const controlSocketName = "control.sock"

// labOps is what the control server does to a lab (*lab.Lab has it).
type labOps interface {
	NodeNames() []string
	KillSpeaker(ctx context.Context, node string) error
	StopSpeaker(ctx context.Context, node string, grace time.Duration) error
	StartSpeaker(ctx context.Context, node string, extra ...string) (*proc.Process, error)
	CutLink(ctx context.Context, node string) error
	RestoreLink(ctx context.Context, node string) error
}

// controlServer serves a lab's control socket.
type controlServer struct {
	lab labOps
	// speakerArgs are the extra flags speakers were started with.
	speakerArgs []string
	// show prints the lab's current facts (nil: not available).
	show func(ctx context.Context, w io.Writer) error
}

// handler routes: POST /speaker/{node}/{kill|stop|start},
// POST /link/{node}/{cut|restore}, GET /show.
func (c *controlServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /speaker/{node}/{action}", c.speaker)
	mux.HandleFunc("POST /link/{node}/{action}", c.link)
	mux.HandleFunc("GET /show", func(w http.ResponseWriter, r *http.Request) {
		if c.show == nil {
			http.Error(w, "this lab runs without the demo (start it with up --demo)", http.StatusNotFound)
			return
		}
		if err := c.show(r.Context(), w); err != nil {
			fmt.Fprintf(w, "error: %v\n", err)
		}
	})
	return mux
}

func (c *controlServer) node(w http.ResponseWriter, r *http.Request) (string, bool) {
	node := r.PathValue("node")
	if !slices.Contains(c.lab.NodeNames(), node) {
		http.Error(w, fmt.Sprintf("no node %q (nodes: %s)", node, strings.Join(c.lab.NodeNames(), ", ")), http.StatusNotFound)
		return "", false
	}
	return node, true
}

func (c *controlServer) speaker(w http.ResponseWriter, r *http.Request) {
	node, ok := c.node(w, r)
	if !ok {
		return
	}
	var err error
	var msg string
	switch r.PathValue("action") {
	case "kill":
		err, msg = c.lab.KillSpeaker(r.Context(), node), "speaker of %s killed (SIGKILL)"
	case "stop":
		err, msg = c.lab.StopSpeaker(r.Context(), node, 10*time.Second), "speaker of %s stopped (SIGTERM: graceful hand-over)"
	case "start":
		var p *proc.Process
		if p, err = c.lab.StartSpeaker(r.Context(), node, c.speakerArgs...); err == nil {
			msg = fmt.Sprintf("speaker of %%s started (pid %d)", p.Pid())
		}
	default:
		http.Error(w, "unknown speaker action "+r.PathValue("action"), http.StatusNotFound)
		return
	}
	reply(w, err, msg, node)
}

func (c *controlServer) link(w http.ResponseWriter, r *http.Request) {
	node, ok := c.node(w, r)
	if !ok {
		return
	}
	var err error
	var msg string
	switch r.PathValue("action") {
	case "cut":
		err, msg = c.lab.CutLink(r.Context(), node), "link of %s cut (its bridge port is down)"
	case "restore":
		err, msg = c.lab.RestoreLink(r.Context(), node), "link of %s restored"
	default:
		http.Error(w, "unknown link action "+r.PathValue("action"), http.StatusNotFound)
		return
	}
	reply(w, err, msg, node)
}

func reply(w http.ResponseWriter, err error, msg, node string) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	fmt.Fprintf(w, msg+"\n", node)
}

// serveControl serves c on the run directory's control socket until ctx
// ends; the returned function waits for the server to stop.
func serveControl(ctx context.Context, dir string, c *controlServer) (wait func(), err error) {
	path := filepath.Join(dir, controlSocketName)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return func() { <-done; _ = os.Remove(path) }, nil
}

// errNoLab is returned when no lab started by `pylon-lab up` is running.
var errNoLab = errors.New("no lab started by `pylon-lab up` is running (start one with `make lab`)")

// findLab returns the run directory of the lab with id, or of the only
// live lab started by `pylon-lab up` (one with a control socket) when id
// is empty.
func findLab(id string) (runs.Info, error) {
	infos, err := runs.List(runs.DefaultStateDir)
	if err != nil {
		return runs.Info{}, err
	}
	var up []runs.Info
	for _, i := range infos {
		if id != "" && i.ID.String() == id {
			if !i.Alive {
				return runs.Info{}, fmt.Errorf("lab %s is not running", id)
			}
			return i, nil
		}
		if _, err := os.Stat(filepath.Join(i.Dir, controlSocketName)); i.Alive && err == nil {
			up = append(up, i)
		}
	}
	switch {
	case id != "":
		return runs.Info{}, fmt.Errorf("no lab %s (see pylon-lab list)", id)
	case len(up) == 0:
		return runs.Info{}, errNoLab
	case len(up) > 1:
		var ids []string
		for _, i := range up {
			ids = append(ids, i.ID.String())
		}
		return runs.Info{}, fmt.Errorf("several labs run (%s): choose one with --id", strings.Join(ids, ", "))
	}
	return up[0], nil
}

// controlRequest sends one request to a lab's control socket and returns
// the answer's text.
func controlRequest(ctx context.Context, dir, method, path string) (string, error) {
	sock := filepath.Join(dir, controlSocketName)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, method, "http://lab"+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("lab control socket %s: %w", sock, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
