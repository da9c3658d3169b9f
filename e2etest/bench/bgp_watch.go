package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// eventLog records timestamped events by key ("kernel add 198.51.100.1/32")
// as the watchers below read them, and lets a scenario wait for the first
// event of a key at or after a moment. The timestamps come from the
// sources themselves (`ip -ts monitor`, FRR's log), so how fast we read
// them does not change the figures.
type eventLog struct {
	mu      sync.Mutex
	events  map[string][]time.Time
	changed chan struct{} // closed and replaced on every add
	err     error
}

func newEventLog() *eventLog {
	return &eventLog{events: map[string][]time.Time{}, changed: make(chan struct{})}
}

// add records one event.
func (e *eventLog) add(key string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events[key] = append(e.events[key], at)
	close(e.changed)
	e.changed = make(chan struct{})
}

// fail records that a watcher stopped.
func (e *eventLog) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
	close(e.changed)
	e.changed = make(chan struct{})
}

// first returns the first event of key at or after since.
func (e *eventLog) first(key string, since time.Time) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, at := range e.events[key] {
		if !at.Before(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

// wait blocks until an event of key at or after since exists.
func (e *eventLog) wait(ctx context.Context, key string, since time.Time) (time.Time, error) {
	for {
		e.mu.Lock()
		ch, err := e.changed, e.err
		e.mu.Unlock()
		if at, ok := e.first(key, since); ok {
			return at, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for %q: %w", key, ctx.Err())
		case <-ch:
		}
	}
}

// routerWatch feeds the router's kernel route changes and bgpd's log into
// one eventLog until Close.
type routerWatch struct {
	*eventLog
	stop  context.CancelFunc
	waits []func()
}

// watchRouter starts both watchers of the router (FRR on host "router").
func watchRouter(ctx context.Context, ns netns.NS, frr *routers.FRR) (*routerWatch, error) {
	ctx, stop := context.WithCancel(ctx)
	w := &routerWatch{eventLog: newEventLog(), stop: stop}
	waitRoutes, err := watchRoutes(ctx, ns, w.eventLog)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.waits = append(w.waits, waitRoutes)
	waitLog, err := watchFRR(ctx, frrDir(frr), frr.Vtysh, w.eventLog)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.waits = append(w.waits, waitLog)
	return w, nil
}

// Close stops the watchers and waits for them.
func (w *routerWatch) Close() {
	w.stop()
	for _, wait := range w.waits {
		wait()
	}
}

// Event keys.
func kernelAdd(p netip.Prefix) string    { return "kernel add " + p.String() }
func kernelDel(p netip.Prefix) string    { return "kernel del " + p.String() }
func bgpRcvd(p netip.Prefix) string      { return "bgp rcvd " + p.String() }
func bgpSessionDown(a netip.Addr) string { return "bgp down " + a.String() }

// watchRoutes runs `ip -ts monitor route` in ns until ctx ends and feeds
// route additions and deletions into log. It returns once the monitor
// runs.
func watchRoutes(ctx context.Context, ns netns.NS, log *eventLog) (wait func(), err error) {
	cmd := ns.Command(ctx, "ip", "-ts", "monitor", "route")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ip monitor in %s: %w", ns, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ev, ok := parseIPMonitor(sc.Text(), time.Local); ok {
				key := kernelAdd(ev.prefix)
				if ev.deleted {
					key = kernelDel(ev.prefix)
				}
				log.add(key, ev.at)
			}
		}
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			log.fail(fmt.Errorf("ip monitor in %s: %w", ns, err))
		}
	}()
	return func() { <-done }, nil
}

// routeEvent is one line of `ip -ts monitor route`.
type routeEvent struct {
	at      time.Time
	prefix  netip.Prefix
	deleted bool
}

// parseIPMonitor parses one line of `ip -ts monitor route`, e.g.
// "[2026-11-25T21:46:54.825491] Deleted 198.51.100.1 nhid 17 proto bgp
// metric 20". Continuation lines (ECMP next hops) and other route types
// are not events.
func parseIPMonitor(line string, loc *time.Location) (routeEvent, bool) {
	end := strings.IndexByte(line, ']')
	if !strings.HasPrefix(line, "[") || end < 0 {
		return routeEvent{}, false
	}
	at, err := time.ParseInLocation("2006-01-02T15:04:05.000000", line[1:end], loc)
	if err != nil {
		return routeEvent{}, false
	}
	f := strings.Fields(line[end+1:])
	deleted := len(f) > 0 && f[0] == "Deleted"
	if deleted {
		f = f[1:]
	}
	if len(f) == 0 {
		return routeEvent{}, false
	}
	p, ok := parseDst(f[0])
	if !ok {
		return routeEvent{}, false
	}
	return routeEvent{at: at, prefix: p, deleted: deleted}, true
}

// parseDst parses a route destination: a prefix, or an address (a host
// route).
func parseDst(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// tailFile feeds every line appended to path into fn until ctx ends,
// starting at its current end. Lines carry their own timestamps, so a
// 5 ms poll of the file only delays reading, not the figures.
func tailFile(ctx context.Context, path string, fn func(line string)) (wait func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Close()
		r := bufio.NewReader(f)
		var partial string
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			s, err := r.ReadString('\n')
			partial += s
			if err == nil {
				fn(strings.TrimRight(partial, "\n"))
				partial = ""
				continue
			}
			if !errors.Is(err, io.EOF) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { <-done }, nil
}

// frrEvent is one line of interest in bgpd's debug log.
type frrEvent struct {
	at   time.Time
	peer netip.Addr
	// prefix is set for a received path ("rcvd PREFIX"); down for a
	// session that left Established.
	prefix netip.Prefix
	down   bool
}

// parseFRRLog parses a bgpd log line with microsecond timestamps ("log
// timestamp precision 6"), with "debug bgp updates in" and "debug bgp
// neighbor-events":
//
//	2026/11/25 21:49:05.035322 BGP: [YCKEM-GB33T] 192.168.77.11(vm) rcvd 198.51.100.1/32 IPv4 unicast
//	2026/11/25 21:49:05.035322 BGP: [ZWCSR-M7FG9] 192.168.77.11 went from Established to Clearing
func parseFRRLog(line string, loc *time.Location) (frrEvent, bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[2] != "BGP:" {
		return frrEvent{}, false
	}
	at, err := time.ParseInLocation("2006/01/02 15:04:05.000000", f[0]+" "+f[1], loc)
	if err != nil {
		return frrEvent{}, false
	}
	rest := f[3:]
	if strings.HasPrefix(rest[0], "[") { // the message id
		rest = rest[1:]
	}
	if len(rest) < 3 {
		return frrEvent{}, false
	}
	peer, err := netip.ParseAddr(strings.SplitN(rest[0], "(", 2)[0])
	if err != nil {
		return frrEvent{}, false
	}
	switch {
	case rest[1] == "rcvd":
		if p, err := netip.ParsePrefix(rest[2]); err == nil {
			return frrEvent{at: at, peer: peer, prefix: p.Masked()}, true
		}
	case len(rest) >= 5 && rest[1] == "went" && rest[2] == "from" && rest[3] == "Established":
		return frrEvent{at: at, peer: peer, down: true}, true
	}
	return frrEvent{}, false
}

// watchFRR makes bgpd log received paths and session changes with
// microsecond timestamps to a file of its own next to its other logs, and
// feeds them into log until ctx ends.
func watchFRR(ctx context.Context, frrDir string, vtysh func(ctx context.Context, cmds ...string) ([]byte, error), log *eventLog) (wait func(), err error) {
	path := frrDir + "/bench-bgpd.log"
	if _, err := vtysh(ctx, "conf t", "log file "+path+" debugging", "log timestamp precision 6",
		"debug bgp updates in", "debug bgp neighbor-events"); err != nil {
		return nil, err
	}
	if err := waitExists(ctx, path); err != nil {
		return nil, err
	}
	return tailFile(ctx, path, func(line string) {
		ev, ok := parseFRRLog(line, time.Local)
		switch {
		case !ok:
		case ev.down:
			log.add(bgpSessionDown(ev.peer), ev.at)
		default:
			log.add(bgpRcvd(ev.prefix), ev.at)
		}
	})
}

// waitExists waits (up to 5 s) for a file to appear.
func waitExists(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}
