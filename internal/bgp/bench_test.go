package bgp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Figures, not assertions: run with
//
//	go test ./internal/bgp -run '^$' -bench . -benchtime 20x
//
// (as root; the wire lab is needed).

// routeMonitor streams `ip monitor route` of a namespace and reports when a
// route for a destination appears.
type routeMonitor struct {
	cmd   *exec.Cmd
	lines chan monitorLine
}

type monitorLine struct {
	at   time.Time
	text string
}

func newRouteMonitor(tb testing.TB, ns string) *routeMonitor {
	tb.Helper()
	cmd := exec.Command("ip", "-n", ns, "monitor", "route")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	m := &routeMonitor{cmd: cmd, lines: make(chan monitorLine, 4096)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.lines <- monitorLine{time.Now(), sc.Text()}
		}
		close(m.lines)
	}()
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return m
}

// await returns when a route for dest is added.
func (m *routeMonitor) await(tb testing.TB, dest string) time.Time {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-m.lines:
			if strings.HasPrefix(l.text, dest+" ") {
				return l.at
			}
		case <-timeout:
			tb.Fatalf("no kernel route for %s", dest)
		}
	}
}

// frrReceived finds when FRR logged the reception of prefix (needs
// "debug bgp updates in" and microsecond log timestamps).
func frrReceived(tb testing.TB, f *frr, prefix string) time.Time {
	tb.Helper()
	var at time.Time
	waitFor(tb, 10*time.Second, "FRR log of "+prefix, func() error {
		data, err := os.ReadFile(filepath.Join(f.dir, "frr.log"))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.Index(line, " rcvd "+prefix+" "); i > 0 && len(line) > 26 {
				t, err := time.ParseInLocation("2006/01/02 15:04:05.000000", line[:26], time.Local)
				if err != nil {
					return err
				}
				at = t
				return nil
			}
		}
		return errNotYet
	})
	return at
}

func benchLab(b *testing.B, debugUpdates bool) (*runningServer, *frr) {
	l := newLink(b)
	f := startFRR(b, l, "log timestamp precision 6\n"+frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN}, "", ""), false)
	if debugUpdates {
		f.configure(b, "debug bgp updates in")
	}
	s := startServer(b, Config{Logger: benchLogger(b)})
	if err := s.SetPeers(ctxT(b), []PeerConfig{ebgpPeer("r", l.Remote4)}); err != nil {
		b.Fatal(err)
	}
	waitEstablished(b, s, "r")
	return s, f
}

func benchLogger(b *testing.B) *slog.Logger {
	if testing.Verbose() {
		return testLogger(b)
	}
	return slog.New(slog.DiscardHandler)
}

// BenchmarkSetPathToFRR measures, on an established session, the time from
// SetPath to FRR receiving the prefix (its BGP table) and to the route in
// its kernel.
func BenchmarkSetPathToFRR(b *testing.B) {
	s, f := benchLab(b, true)
	mon := newRouteMonitor(b, f.l.NS)
	ctx := ctxT(b)
	var toTable, toKernel []time.Duration
	b.ResetTimer()
	for i := range b.N {
		pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
		start := time.Now()
		if err := s.SetPath(ctx, Path{Prefix: pfx}); err != nil {
			b.Fatal(err)
		}
		k := mon.await(b, pfx.Addr().String())
		toKernel = append(toKernel, k.Sub(start))
		toTable = append(toTable, frrReceived(b, f, pfx.String()).Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(ms(median(toTable)), "ms-to-bgp-table-p50")
	b.ReportMetric(ms(median(toKernel)), "ms-to-kernel-p50")
	b.ReportMetric(ms(slices.Max(toKernel)), "ms-to-kernel-max")
}

// BenchmarkThousandPrefixes SetPaths 1,000 /32s on an established session
// and waits until FRR holds all of them in its BGP table and its kernel.
func BenchmarkThousandPrefixes(b *testing.B) {
	s, f := benchLab(b, false)
	ctx := ctxT(b)
	var loop, table, kernel []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		for j := range 1000 {
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(j >> 8), byte(j)}), 32)
			if err := s.SetPath(ctx, Path{Prefix: pfx, Communities: []uint32{uint32(i)}}); err != nil {
				b.Fatal(err)
			}
		}
		loop = append(loop, time.Since(start))
		waitFor(b, 60*time.Second, "1000 prefixes at FRR", func() error {
			if n := frrReceivedCount(b, f); n < 1000 {
				return fmt.Errorf("%d", n)
			}
			return nil
		})
		table = append(table, time.Since(start))
		waitFor(b, 60*time.Second, "1000 kernel routes", func() error {
			if n := strings.Count(f.l.routes(b, "-4"), "proto bgp"); n < 1000 {
				return fmt.Errorf("%d", n)
			}
			return nil
		})
		kernel = append(kernel, time.Since(start))
		b.StopTimer()
		for j := range 1000 {
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(j >> 8), byte(j)}), 32)
			if err := s.DeletePath(ctx, pfx); err != nil {
				b.Fatal(err)
			}
		}
		waitFor(b, 60*time.Second, "prefixes withdrawn", func() error {
			if n := frrReceivedCount(b, f); n != 0 {
				return fmt.Errorf("%d", n)
			}
			return nil
		})
		b.StartTimer()
	}
	b.ReportMetric(ms(median(loop)), "ms-setpath-loop")
	b.ReportMetric(ms(median(table)), "ms-all-in-bgp-table")
	b.ReportMetric(ms(median(kernel)), "ms-all-in-kernel")
}

func frrReceivedCount(tb testing.TB, f *frr) int {
	tb.Helper()
	out, err := f.vtysh("show bgp ipv4 unicast summary json")
	if err != nil {
		tb.Fatal(err)
	}
	var v struct {
		Peers map[string]struct {
			PfxRcd int `json:"pfxRcd"`
		} `json:"peers"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		tb.Fatal(err)
	}
	return v.Peers[f.l.Local4.String()].PfxRcd
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
