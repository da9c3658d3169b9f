package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want Stats
	}{
		{"none", nil, Stats{}},
		{"one", ms(7), Stats{N: 1, Min: ms(7)[0], P50: ms(7)[0], P90: ms(7)[0], Max: ms(7)[0]}},
		{"even count averages the middle", ms(4, 1, 3, 2), Stats{N: 4, Min: ms(1)[0], P50: 2500 * time.Microsecond, P90: ms(4)[0], Max: ms(4)[0]}},
		{"ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), Stats{N: 10, Min: ms(1)[0], P50: 5500 * time.Microsecond, P90: ms(9)[0], Max: ms(10)[0]}},
		{"odd", ms(5, 1, 9), Stats{N: 3, Min: ms(1)[0], P50: ms(5)[0], P90: ms(9)[0], Max: ms(9)[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Summarize(tc.in)); diff != "" {
				t.Errorf("Summarize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummarizeValues(t *testing.T) {
	got := SummarizeValues([]float64{3, 1, 2, 10})
	if diff := cmp.Diff(Values{N: 4, Min: 1, P50: 2.5, Max: 10}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := got.Spread("s"); s != "min 1.00, max 10.0 s, n=4" {
		t.Errorf("Spread = %q", s)
	}
	if s := SummarizeValues([]float64{5}).Spread("s"); s != "n=1" {
		t.Errorf("Spread of one = %q", s)
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 0.0123: "0.0123", 1.234: "1.23", 15.55: "15.6", 107.4: "107", -3: "-3.00", 1234: "1234"} {
		if got := Format(in); got != want {
			t.Errorf("Format(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestSpread(t *testing.T) {
	s := Stats{N: 20, Min: 9080 * time.Microsecond, P90: 22400 * time.Microsecond, Max: 39400 * time.Microsecond}
	if got, want := s.Spread(time.Millisecond), "min 9.08, p90 22.4, max 39.4 ms, n=20"; got != want {
		t.Errorf("Spread = %q, want %q", got, want)
	}
}

func TestParseLoadAvg(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Load
		wantErr bool
	}{
		{"0.52 0.58 0.59 1/389 12345\n", Load{0.52, 0.58, 0.59}, false},
		{"4.77 1.73 2.00", Load{4.77, 1.73, 2}, false},
		{"1 2", Load{}, true},
		{"a b c 1/2 3", Load{}, true},
		{"-1 0 0 1/2 3", Load{}, true},
		{"NaN 0 0 1/2 3", Load{}, true},
		{"Inf 0 0 1/2 3", Load{}, true},
	} {
		got, err := ParseLoadAvg(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseLoadAvg(%q) error %v, want error %v", tc.in, err, tc.wantErr)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseLoadAvg(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzParseLoadAvg(f *testing.F) {
	f.Add("0.52 0.58 0.59 1/389 12345\n")
	f.Add("1e3 2 3")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLoadAvg(s)
		if err != nil {
			return
		}
		for _, v := range []float64{l.One, l.Five, l.Fifteen} {
			if !(v >= 0) || v > 1e308 {
				t.Fatalf("ParseLoadAvg(%q) accepted %v", s, v)
			}
		}
		if l.String() == "" {
			t.Fatal("empty String")
		}
	})
}
