package bench

import (
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/probe"
)

// timeline builds samples 10 ms apart from t0: each entry is the node
// that answered, or "" for a failure; latencies are 1 ms.
func timeline(t0 time.Time, nodes ...string) []probe.Sample {
	var out []probe.Sample
	for i, n := range nodes {
		s := probe.Sample{Seq: i, Start: t0.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Millisecond, Node: n}
		if n == "" {
			s.Err = "timeout"
			s.Latency = 500 * time.Millisecond
		}
		out = append(out, s)
	}
	return out
}

func TestFaultTrialFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name     string
		samples  []probe.Sample
		at       time.Time
		outage   time.Duration
		failed   int
		takeover time.Duration
		took     bool
	}{
		{
			name:    "hard failure: three failed probes, then the next owner",
			samples: timeline(t0, "a", "a", "", "", "", "b", "b"),
			at:      ms(15), outage: 30 * time.Millisecond, failed: 3, takeover: 35 * time.Millisecond, took: true,
		},
		{
			name:    "an outage before the fault does not count",
			samples: timeline(t0, "", "a", "a", "b"),
			at:      ms(15), outage: 0, failed: 0, takeover: 15 * time.Millisecond, took: true,
		},
		{
			name:    "still down at the end",
			samples: timeline(t0, "a", "", ""),
			at:      ms(5), outage: 10 * time.Millisecond, failed: 2,
		},
		{
			name:    "the old owner answering after the fault is no takeover",
			samples: timeline(t0, "a", "a", "a"),
			at:      ms(5),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := faultTrial{owner: "a", next: "b", at: tc.at, samples: tc.samples}
			if got := ft.outage(); got != tc.outage {
				t.Errorf("outage = %v, want %v", got, tc.outage)
			}
			if got := ft.failed(); got != tc.failed {
				t.Errorf("failed = %d, want %d", got, tc.failed)
			}
			got, ok := ft.takeover()
			if ok != tc.took || (ok && got != tc.takeover) {
				t.Errorf("takeover = %v, %t; want %v, %t", got, ok, tc.takeover, tc.took)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	samples := timeline(t0, "a", "", "b", "a", "b")
	if got := answersBy(samples, "b", t0); got != 2 {
		t.Errorf("answersBy(b) = %d, want 2", got)
	}
	if got := answersBy(samples, "a", t0.Add(5*time.Millisecond)); got != 1 {
		t.Errorf("answersBy(a, after 5 ms) = %d, want 1", got)
	}
	if got, ok := firstAnswerBy(samples, "b", t0); !ok || !got.Equal(t0.Add(20*time.Millisecond)) {
		t.Errorf("firstAnswerBy(b) = %v, %t", got, ok)
	}
	if _, ok := firstAnswerBy(samples, "c", t0); ok {
		t.Error("firstAnswerBy(c) found an answer")
	}
}

func TestFirstAnswerEnd(t *testing.T) {
	t0 := time.Unix(1000, 0)
	slow := probe.Sample{Start: t0, Latency: 50 * time.Millisecond, Node: "a"} // queued behind ARP
	fast := probe.Sample{Start: t0.Add(20 * time.Millisecond), Latency: 2 * time.Millisecond, Node: "a"}
	failed := probe.Sample{Start: t0.Add(10 * time.Millisecond), Latency: time.Millisecond, Err: "refused"}
	if got := firstAnswerEnd([]probe.Sample{slow, failed, fast}); !got.Equal(t0.Add(22 * time.Millisecond)) {
		t.Errorf("firstAnswerEnd = %v, want t0+22ms", got.Sub(t0))
	}
	if got := firstAnswerEnd([]probe.Sample{failed}); !got.IsZero() {
		t.Errorf("firstAnswerEnd without answers = %v", got)
	}
}
