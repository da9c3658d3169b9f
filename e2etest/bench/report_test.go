package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock advances one second per call.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func TestRunner(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	loads := 0
	r := &Runner{
		Env: &Env{TrialsOverride: 3},
		Now: clock.now,
		ReadLoad: func() (Load, error) {
			loads++
			return Load{One: float64(loads)}, nil
		},
	}
	var sawTrials int
	scenarios := []Scenario{
		{Name: "ok", Description: "works", Run: func(_ context.Context, env *Env) ([]Figure, error) {
			sawTrials = env.Trials(20)
			return []Figure{{Name: "latency", Value: 12.5, Unit: "ms", MetalLB: "28 ms", Target: "≤ 28 ms", Pass: Met(true)}}, nil
		}},
		{Name: "broken", Description: "fails", Run: func(context.Context, *Env) ([]Figure, error) {
			return []Figure{{Name: "partial", Value: 3, Unit: "s", Pass: Met(false)}}, errors.New("lab exploded\nsecond line")
		}},
	}
	rep := r.Run(context.Background(), scenarios)
	if sawTrials != 3 {
		t.Errorf("Env.Trials = %d, want the override 3", sawTrials)
	}
	if !rep.Failed() {
		t.Error("Failed() = false with a failing scenario")
	}
	want := []Result{
		{Scenario: "ok", Description: "works", Took: time.Second, LoadStart: Load{One: 2}, LoadEnd: Load{One: 3},
			Figures: []Figure{{Name: "latency", Value: 12.5, Unit: "ms", MetalLB: "28 ms", Target: "≤ 28 ms", Pass: Met(true)}}},
		{Scenario: "broken", Description: "fails", Took: time.Second, LoadStart: Load{One: 4}, LoadEnd: Load{One: 5},
			Figures: []Figure{{Name: "partial", Value: 3, Unit: "s", Pass: Met(false)}}, Error: "lab exploded\nsecond line"},
	}
	if diff := cmp.Diff(want, rep.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if rep.LoadStart.One != 1 || rep.LoadEnd.One != 6 {
		t.Errorf("report loads %v, %v", rep.LoadStart, rep.LoadEnd)
	}

	var text, md, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"12.5 ms", "28 ms", "met", "NOT MET", "FAILED: lab exploded …", "[broken]"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| latency | 12.5 ms | 28 ms | ≤ 28 ms | met |", "| partial | 3.00 s |  |  | NOT MET |", "**failed**: lab exploded second line"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown report lacks %q:\n%s", s, md.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestRunnerStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := 0
	s := Scenario{Name: "s", Run: func(context.Context, *Env) ([]Figure, error) { ran++; cancel(); return nil, nil }}
	rep := (&Runner{Env: &Env{}, ReadLoad: func() (Load, error) { return Load{}, nil }}).Run(ctx, []Scenario{s, s})
	if ran != 1 || len(rep.Results) != 1 {
		t.Errorf("ran %d scenarios, %d results; want 1 after cancel", ran, len(rep.Results))
	}
}

func TestRunnerSurvivesPanic(t *testing.T) {
	boom := Scenario{Name: "boom", Run: func(context.Context, *Env) ([]Figure, error) { panic("kaboom") }}
	ok := Scenario{Name: "ok", Run: func(context.Context, *Env) ([]Figure, error) { return nil, nil }}
	rep := (&Runner{Env: &Env{}, ReadLoad: func() (Load, error) { return Load{}, nil }}).Run(context.Background(), []Scenario{boom, ok})
	if len(rep.Results) != 2 || !strings.Contains(rep.Results[0].Error, "panicked: kaboom") || rep.Results[1].Error != "" {
		t.Errorf("results %+v", rep.Results)
	}
}
