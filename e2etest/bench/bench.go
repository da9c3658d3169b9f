package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// Scenario is one benchmark: it brings up what it needs through env,
// measures, and returns its figures.
type Scenario struct {
	// Name identifies the scenario on the command line (--only); unique.
	Name string
	// Description says what is measured, in one line.
	Description string
	// Run measures. Labs it started through env are closed after it
	// returns. Figures returned with an error are still reported.
	Run func(ctx context.Context, env *Env) ([]Figure, error)
}

// Figure is one measured figure with what it is compared to.
type Figure struct {
	// Name says what was measured, e.g. "Service created → IP in status (p50)".
	Name string `json:"name"`
	// Value in Unit.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Spread describes the distribution, e.g. "min 21, max 40 ms, n=20".
	Spread string `json:"spread,omitempty"`
	// MetalLB is MetalLB's figure from TARGETS.md, as text ("28 ms").
	MetalLB string `json:"metallb,omitempty"`
	// Target is our target from TARGETS.md, as text ("≤ 28 ms").
	Target string `json:"target,omitempty"`
	// Pass says whether the target is met; nil when there is no target.
	Pass *bool `json:"pass,omitempty"`
	// Note is a short remark (method, caveat).
	Note string `json:"note,omitempty"`
}

// Met returns a *bool for Figure.Pass.
func Met(ok bool) *bool { return &ok }

// Env is what a scenario runs with. It is used by one scenario at a time.
type Env struct {
	// TrialsOverride is --trials (0: each scenario's default).
	TrialsOverride int
	// SpeakerArgs (--speaker-args) are appended to every lab speaker's
	// flags, to measure other settings.
	SpeakerArgs []string
	// ClientsOverride is --clients: how many clients create the 1,000
	// Services of the scale scenarios at once (0: the default, 4).
	ClientsOverride int
	// RateOverride is --rate: Services per second of the paced scale
	// scenario (0: its default, MetalLB's pace).
	RateOverride float64
	// LabOptions are the base options of every lab (binary directories,
	// logger); scenarios' options are merged over them.
	LabOptions lab.Options
	// Log receives debug output of labs and scenarios.
	Log *slog.Logger
	// Out receives progress lines (Printf).
	Out io.Writer

	mu       sync.Mutex
	labs     []*lab.Lab
	clusters []*cluster.Cluster
}

// Trials returns --trials when given, else def.
func (e *Env) Trials(def int) int {
	if e.TrialsOverride > 0 {
		return e.TrialsOverride
	}
	return def
}

// Clients returns --clients when given, else def.
func (e *Env) Clients(def int) int {
	if e.ClientsOverride > 0 {
		return e.ClientsOverride
	}
	return def
}

// Rate returns --rate when given, else def.
func (e *Env) Rate(def float64) float64 {
	if e.RateOverride > 0 {
		return e.RateOverride
	}
	return def
}

// Printf writes a progress line.
func (e *Env) Printf(format string, args ...any) {
	if e.Out != nil {
		fmt.Fprintf(e.Out, "  "+format+"\n", args...)
	}
}

// Lab brings up a bare lab (no router, no Pylon) with opts merged over
// the environment's options; it is closed when the scenario returns.
func (e *Env) Lab(ctx context.Context, opts lab.Options) (*lab.Lab, error) {
	base := e.LabOptions
	if opts.Nodes != 0 {
		base.Nodes = opts.Nodes
	}
	base.Router2 = base.Router2 || opts.Router2
	base.NetworkOnly = base.NetworkOnly || opts.NetworkOnly
	base.APIServerArgs = append(base.APIServerArgs, opts.APIServerArgs...)
	base.SpeakerArgs = slices.Concat(base.SpeakerArgs, e.SpeakerArgs, opts.SpeakerArgs)
	if opts.Logger != nil {
		base.Logger = opts.Logger
	}
	if base.Logger == nil {
		base.Logger = e.Log
	}
	l, err := lab.Up(ctx, base)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.labs = append(e.labs, l)
	e.mu.Unlock()
	return l, nil
}

// ReadyOptions configures ReadyLab.
type ReadyOptions struct {
	// Lab are the lab's options (see Env.Lab).
	Lab lab.Options
	// Demo configures the router, the configuration and Pylon's flags
	// (default: FRR, demo.Config, every node's speaker).
	Demo demo.Options
}

// ReadyLab brings up a lab running Pylon with the sample configuration
// (package demo): FRR peering with every speaker over IPv4 and IPv6 with BFD,
// an L2 pool demo.L2Pool and a BGP pool demo.BGPPool, the controller
// ready and every session established. The FRR instance is nil with
// Demo.NoRouter.
func (e *Env) ReadyLab(ctx context.Context, opts ReadyOptions) (*lab.Lab, *routers.FRR, error) {
	l, err := e.Lab(ctx, opts.Lab)
	if err != nil {
		return nil, nil, err
	}
	frr, err := demo.Prepare(ctx, l, opts.Demo)
	if err != nil {
		return nil, nil, fmt.Errorf("prepare lab %s: %w", l.ID, err)
	}
	return l, frr, nil
}

// closeLabs closes every lab and cluster the scenario started.
func (e *Env) closeLabs(ctx context.Context) error {
	e.mu.Lock()
	labs, clusters := e.labs, e.clusters
	e.labs, e.clusters = nil, nil
	e.mu.Unlock()
	var errs []error
	for _, c := range clusters {
		errs = append(errs, c.Close(ctx))
	}
	for _, l := range labs {
		errs = append(errs, l.Close(ctx))
	}
	return errors.Join(errs...)
}
