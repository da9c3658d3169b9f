package ipam

import "testing"

// everyNth reserves every nth address of 10.0.0.0/16, from 10.0.0.1.
func everyNth(n int) []Reservation {
	var out []Reservation
	for i := 1; i < 1<<16; i += n {
		out = append(out, Reservation{Addr: fromU128(u128{lo: 10<<24 | uint64(i)}, IPv4), Reason: "node"})
	}
	return out
}

// BenchmarkFillSlash16Reserved fills a /16 with one address in 16
// reserved (4,096, as many node addresses as a large cluster has): the
// reserved addresses are out of the free set, so the last allocations
// cost what the first do.
func BenchmarkFillSlash16Reserved(b *testing.B) {
	res := everyNth(16)
	fillMetricsWith(b, []Pool{prefixPool("p", "10.0.0.0/16")}, requests(1<<16-len(res)), res)
}

// BenchmarkSetReserved changes one reservation among 4,096 in a full /16
// (a node joins or leaves): the cost is the list's length, not the pool's
// size.
func BenchmarkSetReserved(b *testing.B) {
	a, _ := full(b, 4096)
	base := everyNth(16)
	more := append(base[:len(base):len(base)], Reservation{Addr: ip("10.0.255.255"), Reason: "node"})
	i, cpu := 0, cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1e3/float64(b.N), "cpu-ms/op") }()
	for b.Loop() {
		res := base
		if i%2 == 0 {
			res = more
		}
		if err := a.SetReserved(res); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
