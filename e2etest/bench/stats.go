package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stats summarises repeated measurements of a duration.
type Stats struct {
	N                  int
	Min, P50, P90, Max time.Duration
}

// Summarize returns the statistics of ds (zero Stats for none). P50 of an
// even count is the mean of the two middle values; P90 is the nearest rank.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	p50 := s[n/2]
	if n%2 == 0 {
		p50 = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9 n)
	return Stats{N: n, Min: s[0], P50: p50, P90: s[rank-1], Max: s[n-1]}
}

// Spread formats min, p90 and max in unit (time.Millisecond or
// time.Second) with the count, for Figure.Spread.
func (s Stats) Spread(unit time.Duration) string {
	return fmt.Sprintf("min %s, p90 %s, max %s %s, n=%d",
		Format(In(s.Min, unit)), Format(In(s.P90, unit)), Format(In(s.Max, unit)), UnitName(unit), s.N)
}

// In returns d as a number of units.
func In(d, unit time.Duration) float64 { return float64(d) / float64(unit) }

// Millis returns d in milliseconds.
func Millis(d time.Duration) float64 { return In(d, time.Millisecond) }

// Seconds returns d in seconds.
func Seconds(d time.Duration) float64 { return d.Seconds() }

// UnitName names a duration unit: "ms", "s", "µs", else the duration.
func UnitName(unit time.Duration) string {
	switch unit {
	case time.Microsecond:
		return "µs"
	case time.Millisecond:
		return "ms"
	case time.Second:
		return "s"
	}
	return unit.String()
}

// Format prints a figure with three significant digits at most, without
// exponent for the magnitudes benchmarks produce.
func Format(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Load is the machine's load average (/proc/loadavg).
type Load struct {
	One, Five, Fifteen float64
}

// String formats the load as uptime does.
func (l Load) String() string {
	return fmt.Sprintf("%.2f, %.2f, %.2f", l.One, l.Five, l.Fifteen)
}

// ParseLoadAvg parses the content of /proc/loadavg ("0.52 0.58 0.59 1/389 12345").
func ParseLoadAvg(s string) (Load, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return Load{}, fmt.Errorf("parse loadavg %q: want 3 numbers", s)
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil || !(x >= 0) || math.IsInf(x, 1) {
			return Load{}, fmt.Errorf("parse loadavg %q: field %d: bad number", s, i+1)
		}
		v[i] = x
	}
	return Load{One: v[0], Five: v[1], Fifteen: v[2]}, nil
}

// Values summarises repeated measurements of a plain number.
type Values struct {
	N             int
	Min, P50, Max float64
}

// SummarizeValues returns the statistics of vs (zero Values for none); P50
// of an even count is the mean of the two middle values.
func SummarizeValues(vs []float64) Values {
	if len(vs) == 0 {
		return Values{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	p50 := s[n/2]
	if n%2 == 0 {
		p50 = (s[n/2-1] + s[n/2]) / 2
	}
	return Values{N: n, Min: s[0], P50: p50, Max: s[n-1]}
}

// Spread formats min and max with unit and the count ("n=1" alone for a
// single value).
func (v Values) Spread(unit string) string {
	if v.N <= 1 {
		return fmt.Sprintf("n=%d", v.N)
	}
	return fmt.Sprintf("min %s, max %s %s, n=%d", Format(v.Min), Format(v.Max), unit, v.N)
}
