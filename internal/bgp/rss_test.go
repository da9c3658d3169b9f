package bgp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssChildEnv makes the test binary run a bare speaker instead of tests:
// its value is a comma-separated list of router addresses; it announces
// 1,000 /32s to them, prints "ready", and runs until stdin closes. Its RSS
// is then the speaker's (gobgp + this package), without the test harness.
const rssChildEnv = "PYLON_BGP_RSS_SPEAKER"

func rssChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(Config{RouterID: netip.MustParseAddr("192.0.2.1"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var peers []PeerConfig
	for i, a := range strings.Split(os.Getenv(rssChildEnv), ",") {
		peers = append(peers, ebgpPeer(fmt.Sprintf("r%d", i), netip.MustParseAddr(a)))
	}
	if err := s.SetPeers(ctx, peers); err != nil {
		fmt.Println(err)
		return 1
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv(rssChildEnv + "_N")); err == nil {
		n = v
	}
	for j := range n {
		pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(j >> 8), byte(j)}), 32)
		if err := s.SetPath(ctx, Path{Prefix: pfx}); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	fmt.Println("ready")
	go func() {
		time.Sleep(3 * time.Second)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if p := os.Getenv(rssChildEnv + "_HEAP"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		fmt.Fprintf(os.Stderr, "speaker child: heap in use %.1f MiB, Go sys %.1f MiB, goroutines %d\n",
			float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20), runtime.NumGoroutine())
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-done; err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/PID/status in MiB.
func procStatus(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// BenchmarkSpeakerRSS runs a bare speaker process with 2 eBGP sessions and
// 1,000 prefixes and reports its resident memory once both routers hold
// every prefix.
func BenchmarkSpeakerRSS(b *testing.B) {
	var frrs []*frr
	var addrs []string
	for range 2 {
		l := newLink(b)
		frrs = append(frrs, startFRR(b, l, frrConf(routerASN, l.Remote4.String(), map[string]uint32{l.Local4.String(): speakerASN}, "", ""), false))
		addrs = append(addrs, l.Remote4.String())
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), rssChildEnv+"="+strings.Join(addrs, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		b.Fatalf("speaker child: %q", line)
	}
	for _, f := range frrs {
		waitFor(b, 60*time.Second, "1000 prefixes at "+f.l.NS, func() error {
			if n := frrReceivedCount(b, f); n < 1000 {
				return fmt.Errorf("%d", n)
			}
			return nil
		})
	}
	time.Sleep(2 * time.Second) // let the speaker settle (GC, keepalives)
	b.ResetTimer()
	var rss float64
	for range b.N {
		rss = procStatus(b, cmd.Process.Pid, "VmRSS")
	}
	b.ReportMetric(rss, "MiB-RSS")
	b.ReportMetric(procStatus(b, cmd.Process.Pid, "VmHWM"), "MiB-peak-RSS")
}
