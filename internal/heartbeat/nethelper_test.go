//go:build linux

package heartbeat_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/internal/heartbeat"
)

// The network tests run each detector as a separate process (this test
// binary, re-executed inside the node's namespace), as speakers on separate
// machines would be: a process that is not scheduled stalls only its own
// detector.

// helperEnv makes the test binary run a detector instead of the tests.
const helperEnv = "PYLON_HEARTBEAT_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

var helperKey = []byte("pylon heartbeat lab key, 32 byte")

// event is one line a helper prints.
type event struct {
	Ev    string           `json:"ev"` // "dead" (Dead changed) or "stats"
	At    int64            `json:"at"` // unix nanoseconds, the helper's clock
	Dead  []string         `json:"dead,omitempty"`
	Stats *heartbeat.Stats `json:"stats,omitempty"`
	CPU   time.Duration    `json:"cpu,omitempty"` // user+system of the helper
}

// helper is one detector process, seen from the test.
type helper struct {
	node  *labNode
	cmd   *exec.Cmd
	stdin io.WriteCloser
	dead  chan event // every "dead" event
	stats chan event
	once  sync.Once
}

// startHelper runs a detector in nd's namespace with the lab's timing.
func (l *netLab) startHelper(nd *labNode) *helper {
	t := l.t
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, o := range l.nodes {
		peers = append(peers, o.name+"="+o.addr.String())
	}
	cmd := nd.ns.Command(context.Background(), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HB_NAME="+nd.name, "HB_ADDR="+nd.addr.String(),
		"HB_PEERS="+strings.Join(peers, ","), "HB_KEY="+hex.EncodeToString(helperKey),
		fmt.Sprintf("HB_TIMING=%v,%v,%v", l.cfg.Interval, l.cfg.Timeout, l.cfg.ProbeTimeout))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = testWriter{t}
	h := &helper{node: nd, cmd: cmd, dead: make(chan event, 1024), stats: make(chan event, 1)}
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start detector %s: %v", nd.name, err)
	}
	go h.read(stdout)
	return h
}

func (h *helper) read(r io.Reader) {
	defer close(h.dead)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Ev == "stats" {
			h.stats <- e
		} else {
			h.dead <- e
		}
	}
}

// kill SIGKILLs the detector and reaps it (idempotent).
func (h *helper) kill() {
	h.once.Do(func() {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	})
}

// stop ends the detector gracefully (its stdin closes) and reaps it.
func (h *helper) stop(t *testing.T) {
	t.Helper()
	_ = h.stdin.Close()
	h.once.Do(func() {
		if err := h.cmd.Wait(); err != nil {
			t.Errorf("%s: %v", h.node.name, err)
		}
	})
}

// awaitDead waits for the helper to report exactly want, and returns when
// it did (its clock; the same machine's).
func (h *helper) awaitDead(t *testing.T, want []string, limit time.Duration) time.Time {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-h.dead:
			if !ok {
				t.Fatalf("%s exited before reporting dead %v", h.node.name, want)
			}
			if slices.Equal(e.Dead, want) {
				return time.Unix(0, e.At)
			}
		case <-timer.C:
			t.Fatalf("%s did not report dead %v within %v", h.node.name, want, limit)
		}
	}
}

// drainDead returns the "dead" events reported so far.
func (h *helper) drainDead() []event {
	var out []event
	for {
		select {
		case e, ok := <-h.dead:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

// readStats asks the helper for its counters and CPU time.
func (h *helper) readStats(t *testing.T) (heartbeat.Stats, time.Duration) {
	t.Helper()
	if _, err := io.WriteString(h.stdin, "stats\n"); err != nil {
		t.Fatalf("ask %s for stats: %v", h.node.name, err)
	}
	select {
	case e := <-h.stats:
		return *e.Stats, e.CPU
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not report stats", h.node.name)
	}
	return heartbeat.Stats{}, 0
}

// testWriter sends a helper's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// runHelper is the detector process: it runs a Detector with the HB_*
// settings, prints an event whenever Dead changes and its stats when asked
// ("stats" on stdin), until stdin closes or SIGTERM.
func runHelper() int {
	cfg, peers, err := helperConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	level := slog.LevelInfo
	if os.Getenv("PYLON_HEARTBEAT_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", cfg.Name)
	d, err := heartbeat.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	d.SetPeers(peers)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	out := &eventWriter{enc: json.NewEncoder(os.Stdout)}
	go serveStats(cancel, d, out)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for {
		select {
		case <-d.Changed():
			out.write(event{Ev: "dead", At: time.Now().UnixNano(), Dead: d.Dead()})
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, "helper:", err)
				return 1
			}
			return 0
		}
	}
}

// serveStats answers "stats" lines on stdin; stdin's end stops the helper.
func serveStats(stop func(), d *heartbeat.Detector, out *eventWriter) {
	defer stop()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() != "stats" {
			continue
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s := d.Stats()
		out.write(event{Ev: "stats", At: time.Now().UnixNano(), Stats: &s, CPU: cpu})
	}
}

func helperConfig() (heartbeat.Config, map[string]netip.AddrPort, error) {
	cfg := heartbeat.DefaultConfig()
	cfg.Name = os.Getenv("HB_NAME")
	var err error
	if cfg.ListenAddr, err = netip.ParseAddrPort(os.Getenv("HB_ADDR")); err != nil {
		return cfg, nil, fmt.Errorf("HB_ADDR: %w", err)
	}
	if cfg.Key, err = hex.DecodeString(os.Getenv("HB_KEY")); err != nil {
		return cfg, nil, fmt.Errorf("HB_KEY: %w", err)
	}
	timing := strings.Split(os.Getenv("HB_TIMING"), ",")
	for i, dst := range []*time.Duration{&cfg.Interval, &cfg.Timeout, &cfg.ProbeTimeout} {
		if i < len(timing) {
			if *dst, err = time.ParseDuration(timing[i]); err != nil {
				return cfg, nil, fmt.Errorf("HB_TIMING: %w", err)
			}
		}
	}
	peers := map[string]netip.AddrPort{}
	for _, p := range strings.Split(os.Getenv("HB_PEERS"), ",") {
		name, addr, _ := strings.Cut(p, "=")
		if peers[name], err = netip.ParseAddrPort(addr); err != nil {
			return cfg, nil, fmt.Errorf("HB_PEERS: %w", err)
		}
	}
	return cfg, peers, nil
}

// eventWriter prints events as JSON lines from several goroutines.
type eventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *eventWriter) write(e event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.enc.Encode(e)
}
