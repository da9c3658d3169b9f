package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// fakeLab records the operations the control server asks for.
type fakeLab struct {
	calls []string
	fail  error
}

func (f *fakeLab) NodeNames() []string { return []string{"node1", "node2"} }
func (f *fakeLab) KillSpeaker(_ context.Context, n string) error {
	f.calls = append(f.calls, "kill "+n)
	return f.fail
}
func (f *fakeLab) StopSpeaker(_ context.Context, n string, _ time.Duration) error {
	f.calls = append(f.calls, "stop "+n)
	return f.fail
}
func (f *fakeLab) StartSpeaker(_ context.Context, n string, extra ...string) (*proc.Process, error) {
	f.calls = append(f.calls, "start "+n+" "+strings.Join(extra, " "))
	if f.fail != nil {
		return nil, f.fail
	}
	return proc.Start(proc.Spec{Name: "fake", Path: "/bin/true", LogPath: os.DevNull})
}
func (f *fakeLab) CutLink(_ context.Context, n string) error {
	f.calls = append(f.calls, "cut "+n)
	return f.fail
}
func (f *fakeLab) RestoreLink(_ context.Context, n string) error {
	f.calls = append(f.calls, "restore "+n)
	return f.fail
}

var _ labOps = (*fakeLab)(nil)

func do(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

func TestControlServer(t *testing.T) {
	fl := &fakeLab{}
	srv := &controlServer{lab: fl, speakerArgs: []string{"--log-level=debug"}}
	h := srv.handler()
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"POST", "/speaker/node2/kill", 200, "speaker of node2 killed (SIGKILL)"},
		{"POST", "/speaker/node1/stop", 200, "speaker of node1 stopped (SIGTERM: graceful hand-over)"},
		{"POST", "/link/node2/cut", 200, "link of node2 cut (its bridge port is down)"},
		{"POST", "/link/node2/restore", 200, "link of node2 restored"},
		{"POST", "/speaker/node9/kill", 404, "no node \"node9\" (nodes: node1, node2)"},
		{"POST", "/speaker/node1/explode", 404, "unknown speaker action explode"},
		{"GET", "/speaker/node1/kill", 405, "Method Not Allowed"},
		{"GET", "/show", 404, "this lab runs without the demo (start it with up --demo)"},
	} {
		code, body := do(t, h, tc.method, tc.path)
		if code != tc.code || body != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, code, body, tc.code, tc.body)
		}
	}
	code, body := do(t, h, "POST", "/speaker/node2/start")
	if code != 200 || !strings.HasPrefix(body, "speaker of node2 started (pid ") {
		t.Errorf("start = %d %q", code, body)
	}
	want := []string{"kill node2", "stop node1", "cut node2", "restore node2", "start node2 --log-level=debug"}
	if diff := cmp.Diff(want, fl.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	fl.fail = errors.New("start speaker-node1: already running (pid 42)")
	if code, body := do(t, h, "POST", "/speaker/node1/start"); code != 409 || body != fl.fail.Error() {
		t.Errorf("failing start = %d %q", code, body)
	}
	srv.show = func(_ context.Context, w io.Writer) error { _, err := io.WriteString(w, "facts\n"); return err }
	if code, body := do(t, h, "GET", "/show"); code != 200 || body != "facts" {
		t.Errorf("show = %d %q", code, body)
	}
}

func TestControlSocket(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := serveControl(ctx, dir, &controlServer{lab: &fakeLab{}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := controlRequest(context.Background(), dir, "POST", "/link/node1/cut")
	if err != nil || out != "link of node1 cut (its bridge port is down)\n" {
		t.Errorf("cut over the socket = %q, %v", out, err)
	}
	if _, err := controlRequest(context.Background(), dir, "POST", "/link/nodeX/cut"); err == nil || !strings.Contains(err.Error(), "no node") {
		t.Errorf("unknown node over the socket: %v", err)
	}
	cancel()
	wait()
	if _, err := os.Stat(dir + "/" + controlSocketName); !os.IsNotExist(err) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}
