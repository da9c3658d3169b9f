package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The benchmarks time whole fills and report the first and last 1,000
// allocations of the same run as custom metrics: the last must not cost
// more than twice the first (flat cost whatever the fill level).

func requests(n int) []Request {
	out := make([]Request, n)
	for i := range out {
		out[i] = Request{Key: fmt.Sprintf("ns/svc-%d", i), Namespace: "ns"}
	}
	return out
}

// prefixPool returns an auto-assign pool covering prefix.
func prefixPool(name, prefix string) Pool {
	p := netip.MustParsePrefix(prefix)
	last := toU128(p.Addr())
	size := uint64(1) << (p.Addr().BitLen() - p.Bits())
	if p.Addr().BitLen()-p.Bits() >= 64 {
		last.lo = ^uint64(0)
	} else {
		last.lo += size - 1
	}
	return pool(name, Range{First: p.Addr(), Last: fromU128(last, FamilyOf(p.Addr()))})
}

// fillMetrics fills a fresh allocator configured with pools by allocating
// reqs one by one, and reports the fill time and the cost of the first and
// last 1,000 allocations of each fill. The machine is shared and noisy, so
// it reports medians over the iterations (run with -benchtime=5x or more)
// and the ratio of the best first and last windows.
func fillMetrics(b *testing.B, pools []Pool, reqs []Request) {
	b.Helper()
	fillMetricsWith(b, pools, reqs, nil)
}

// fillMetricsWith is fillMetrics with reserved addresses.
func fillMetricsWith(b *testing.B, pools []Pool, reqs []Request, res []Reservation) {
	b.Helper()
	const window = 1000
	var fills, cpus, firsts, lasts []time.Duration
	for b.Loop() {
		b.StopTimer()
		a := New()
		if err := a.SetPools(pools); err != nil {
			b.Fatal(err)
		}
		if err := a.SetReserved(res); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		cpu := cpuTime()
		start := time.Now()
		mark := start
		for i, r := range reqs {
			if _, err := a.Allocate(r); err != nil {
				b.Fatalf("allocation %d: %v", i, err)
			}
			switch i + 1 {
			case window:
				firsts = append(firsts, time.Since(start))
			case len(reqs) - window:
				mark = time.Now()
			}
		}
		lasts = append(lasts, time.Since(mark))
		fills = append(fills, time.Since(start))
		cpus = append(cpus, cpuTime()-cpu)
	}
	reportWindows(b, "alloc", firsts, lasts, window)
	b.ReportMetric(median(fills).Seconds()*1e3, "fill-ms")
	b.ReportMetric(median(cpus).Seconds()*1e3, "fill-cpu-ms")
}

// cpuTime is the CPU time used by the process (all threads, GC included):
// on a loaded machine it shows the work done better than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportWindows(b *testing.B, unit string, firsts, lasts []time.Duration, window int) {
	first, last := median(firsts), median(lasts)
	b.ReportMetric(float64(first.Nanoseconds())/float64(window), "first1k-ns/"+unit)
	b.ReportMetric(float64(last.Nanoseconds())/float64(window), "last1k-ns/"+unit)
	b.ReportMetric(float64(last)/float64(first), "last/first")
	b.ReportMetric(float64(slices.Min(lasts))/float64(slices.Min(firsts)), "best-last/best-first")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func BenchmarkFillSlash16(b *testing.B) {
	fillMetrics(b, []Pool{prefixPool("p", "10.0.0.0/16")}, requests(1<<16))
}

func BenchmarkFillSlash16AvoidBuggy(b *testing.B) {
	fillMetrics(b, []Pool{avoiding(prefixPool("p", "10.0.0.0/16"))}, requests(1<<16-512))
}

func BenchmarkFillIPv6Slash64(b *testing.B) {
	reqs := requests(1 << 16)
	for i := range reqs {
		reqs[i].Families = []Family{IPv6}
	}
	fillMetrics(b, []Pool{prefixPool("p", "2001:db8::/64")}, reqs)
}

func manyPools(n, bits int) []Pool {
	pools := make([]Pool, n)
	for i := range pools {
		base := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		pools[i] = prefixPool(fmt.Sprintf("pool-%04d", i), fmt.Sprintf("%s/%d", base, bits))
	}
	return pools
}

func BenchmarkFill1000PoolsOf64(b *testing.B) {
	fillMetrics(b, manyPools(1000, 26), requests(1000*64))
}

func BenchmarkFill100PoolsOf256(b *testing.B) {
	fillMetrics(b, manyPools(100, 24), requests(100*256))
}

// full returns an allocator whose /16 pool has free addresses left.
func full(b *testing.B, free int) (*Allocator, []Request) {
	b.Helper()
	a := New()
	if err := a.SetPools([]Pool{prefixPool("p", "10.0.0.0/16")}); err != nil {
		b.Fatal(err)
	}
	reqs := requests(1<<16 - free)
	for _, r := range reqs {
		if _, err := a.Allocate(r); err != nil {
			b.Fatal(err)
		}
	}
	return a, reqs
}

func BenchmarkFailedAllocationFullPool(b *testing.B) {
	a, _ := full(b, 0)
	r := Request{Key: "ns/one-too-many", Namespace: "ns"}
	for b.Loop() {
		if _, err := a.Allocate(r); err == nil {
			b.Fatal("allocation on a full pool succeeded")
		}
	}
}

func BenchmarkFailedAllocation1000FullPools(b *testing.B) {
	a := New()
	if err := a.SetPools(manyPools(1000, 26)); err != nil {
		b.Fatal(err)
	}
	for _, r := range requests(64000) {
		if _, err := a.Allocate(r); err != nil {
			b.Fatal(err)
		}
	}
	r := Request{Key: "ns/one-too-many", Namespace: "ns"}
	for b.Loop() {
		if _, err := a.Allocate(r); err == nil {
			b.Fatal("allocation on full pools succeeded")
		}
	}
}

// BenchmarkChurnNearlyFull releases a random service and allocates a new
// one, 100,000 times, on a /16 pool with 16 free addresses.
func BenchmarkChurnNearlyFull(b *testing.B) {
	const churn, window = 100_000, 1000
	var firsts, lasts []time.Duration
	for b.Loop() {
		b.StopTimer()
		a, reqs := full(b, 16)
		rnd := rand.New(rand.NewPCG(1, 2))
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		mark := start
		for i := range churn {
			k := rnd.IntN(len(reqs))
			a.Release(reqs[k].Key)
			reqs[k].Key = fmt.Sprintf("ns/churn-%d", i)
			if _, err := a.Allocate(reqs[k]); err != nil {
				b.Fatal(err)
			}
			switch i + 1 {
			case window:
				firsts = append(firsts, time.Since(start))
			case churn - window:
				mark = time.Now()
			}
		}
		lasts = append(lasts, time.Since(mark))
	}
	reportWindows(b, "op", firsts, lasts, window)
}

// BenchmarkReallocateExisting is a controller resync: Allocate for a
// service that already holds a valid address, in a full /16.
func BenchmarkReallocateExisting(b *testing.B) {
	a, reqs := full(b, 0)
	i := 0
	for b.Loop() {
		if _, err := a.Allocate(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSetPools65536 replaces the configuration under 65,536
// assignments: "priority" changes no range (the pool states are kept),
// "range-added" changes one (every held address is re-homed and the pool
// rebuilt).
func BenchmarkSetPools65536(b *testing.B) {
	a, _ := full(b, 0)
	base := prefixPool("p", "10.0.0.0/16")
	other := prefixPool("q", "10.1.0.0/24")
	b.Run("priority", func(b *testing.B) {
		i := 0
		for b.Loop() {
			q := withPolicy(other, Policy{Priority: 1 + i%2})
			if err := a.SetPools([]Pool{base, q}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("range-added", func(b *testing.B) {
		grown := base
		grown.Ranges = append([]Range{rng("10.2.0.1", "10.2.0.1")}, base.Ranges...)
		i, cpu := 0, cpuTime()
		defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1e3/float64(b.N), "cpu-ms/op") }()
		for b.Loop() {
			p := base
			if i%2 == 0 {
				p = grown
			}
			if err := a.SetPools([]Pool{p}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
