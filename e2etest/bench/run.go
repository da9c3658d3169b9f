package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"
)

// Runner runs scenarios and collects a report.
type Runner struct {
	// Env is handed to every scenario (its labs are closed after each).
	Env *Env
	// Now and ReadLoad default to time.Now and ReadLoad.
	Now      func() time.Time
	ReadLoad func() (Load, error)
}

// ReadLoad reads /proc/loadavg.
func ReadLoad() (Load, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return Load{}, fmt.Errorf("read load: %w", err)
	}
	return ParseLoadAvg(string(b))
}

// Run runs the scenarios in order and returns the report; a failing
// scenario is recorded and the next one runs. It stops early when ctx
// ends.
func (r *Runner) Run(ctx context.Context, scenarios []Scenario) *Report {
	now, load := r.Now, r.ReadLoad
	if now == nil {
		now = time.Now
	}
	if load == nil {
		load = ReadLoad
	}
	rep := &Report{Started: now(), Trials: r.Env.TrialsOverride}
	rep.LoadStart, _ = load()
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		res := Result{Scenario: s.Name, Description: s.Description}
		res.LoadStart, _ = load()
		r.Env.Printf("[%s] %s (load %s)", s.Name, s.Description, res.LoadStart)
		t0 := now()
		figs, err := runOne(ctx, s, r.Env)
		if cerr := r.Env.closeLabs(context.WithoutCancel(ctx)); err == nil && cerr != nil {
			err = fmt.Errorf("close labs: %w", cerr)
		}
		res.Took = now().Sub(t0)
		res.LoadEnd, _ = load()
		res.Figures = figs
		if err != nil {
			res.Error = err.Error()
			r.Env.Printf("[%s] failed: %v", s.Name, err)
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Finished = now()
	rep.LoadEnd, _ = load()
	return rep
}

// runOne runs a scenario, turning a panic into an error so the report of
// the others survives.
func runOne(ctx context.Context, s Scenario, env *Env) (figs []Figure, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scenario %s panicked: %v\n%s", s.Name, p, debug.Stack())
		}
	}()
	return s.Run(ctx, env)
}
