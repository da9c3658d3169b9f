//go:build linux

package l2_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/pylonlb/pylon/internal/l2"
)

// childEnv selects the child mode of the test binary: it then runs an
// Announcer in the network namespace it was started in (by the wire tests,
// through `ip netns exec`), driven by JSON commands on stdin, and reports
// events as JSON lines on stdout.
const childEnv = "PYLON_L2_WIRE_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

// command is what the wire tests send to a child.
type command struct {
	Op  string   `json:"op"` // "announce", "stats"
	IPs []string `json:"ips,omitempty"`
}

// event is what a child reports.
type event struct {
	Ev         string    `json:"ev"` // "interfaces", "foreign", "stats", "ack"
	Interfaces []string  `json:"interfaces,omitempty"`
	IP         string    `json:"ip,omitempty"`
	MAC        string    `json:"mac,omitempty"`
	Stats      *l2.Stats `json:"stats,omitempty"`
}

// runChild runs the Announcer and a small HTTP server answering the node
// name on port 8080, until stdin closes.
func runChild(name string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	cfg := l2.DefaultConfig()
	cfg.Logger = log
	a, err := l2.New(cfg)
	if err != nil {
		log.Error("new announcer", "error", err)
		return 1
	}
	ln, err := net.Listen("tcp", "[::]:8080")
	if err != nil {
		log.Error("listen http", "error", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			log.Error("run", "error", err)
		}
	})
	out := &childOut{enc: json.NewEncoder(os.Stdout)}
	wg.Go(func() { reportEvents(ctx, a, out) })
	serveCommands(a, out, log)
	cancel()
	wg.Wait()
	return 0
}

// childOut serialises event lines.
type childOut struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *childOut) send(e event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.enc.Encode(e)
}

func reportEvents(ctx context.Context, a *l2.Announcer, out *childOut) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.Changed():
			var names []string
			for _, i := range a.Interfaces() {
				names = append(names, i.Name)
			}
			out.send(event{Ev: "interfaces", Interfaces: names})
		case s := <-a.Foreign():
			out.send(event{Ev: "foreign", IP: s.IP.String(), MAC: s.MAC.String()})
		}
	}
}

func serveCommands(a *l2.Announcer, out *childOut, log *slog.Logger) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var c command
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			log.Error("bad command", "error", err)
			continue
		}
		switch c.Op {
		case "announce":
			want := map[netip.Addr][]string{}
			for _, s := range c.IPs {
				want[netip.MustParseAddr(s)] = nil
			}
			a.SetAnnouncements(want)
			out.send(event{Ev: "ack"})
		case "stats":
			st := a.Stats()
			out.send(event{Ev: "stats", Stats: &st})
		}
	}
}
