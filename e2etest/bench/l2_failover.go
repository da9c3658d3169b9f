package bench

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// failoverTrials is the default number of trials of the fail-over
// scenarios.
const failoverTrials = 10

// Probe counts around a fault: answers from the owner before it (the
// prober is running), and from the next owner after it (the client has
// settled on it).
const (
	warmAnswers  = 10
	afterAnswers = 20
)

// fault is what a fail-over trial does to the owner of the address.
type fault func(ctx context.Context, b *l2Lab, owner string, ip netip.Addr) error

// faultTrial is what one fail-over trial observed.
type faultTrial struct {
	owner, next string
	at          time.Time // when the fault started
	samples     []probe.Sample
}

// outage is the longest client-observed outage that ended (or is still
// open) after the fault.
func (t faultTrial) outage() time.Duration {
	var longest time.Duration
	for _, o := range probe.Outages(t.samples) {
		if (o.Open || !o.End.Before(t.at)) && o.Duration() > longest {
			longest = o.Duration()
		}
	}
	return longest
}

// failed counts the failed probes started at or after the fault.
func (t faultTrial) failed() int {
	n := 0
	for _, s := range t.samples {
		if !s.OK() && !s.Start.Before(t.at) {
			n++
		}
	}
	return n
}

// resets counts the failed probes started at or after the fault whose
// connection was reset at the switch of owners (see l2.SwitchReset).
func (t faultTrial) resets() int {
	n := 0
	for _, s := range t.samples {
		if l2.SwitchReset(s) && !s.Start.Before(t.at) {
			n++
		}
	}
	return n
}

// takeover is the time from the fault to the start of the first probe the
// next owner answered.
func (t faultTrial) takeover() (time.Duration, bool) {
	first, ok := firstAnswerBy(t.samples, t.next, t.at)
	return first.Sub(t.at), ok
}

// runFaults runs trials of one fault against the owner of a Service's
// address, with a client probing HTTP every 10 ms, restoring the owner
// after each.
func runFaults(ctx context.Context, env *Env, f fault, report func(i int, t faultTrial)) ([]faultTrial, error) {
	b, err := startL2Lab(ctx, env, "")
	if err != nil {
		return nil, err
	}
	_, ip, err := b.service(ctx, "failover", l2Pool)
	if err != nil {
		return nil, err
	}
	n := env.Trials(failoverTrials)
	env.Printf("%d trials on %s (lab %s)", n, ip, b.l.ID)
	var trials []faultTrial
	for i := range n {
		t, err := b.faultTrial(ctx, ip, f)
		if err != nil {
			return trials, fmt.Errorf("trial %d: %w", i+1, err)
		}
		trials = append(trials, t)
		report(i, t)
		if err := b.restore(ctx, t.owner, ip); err != nil {
			return trials, fmt.Errorf("trial %d: restore %s: %w", i+1, t.owner, err)
		}
	}
	return trials, nil
}

// faultTrial waits for the lab to settle, starts probing, applies the
// fault to the owner once the owner answers, and probes on until the next
// owner has answered afterAnswers probes.
func (b *l2Lab) faultTrial(ctx context.Context, ip netip.Addr, f fault) (faultTrial, error) {
	owner, err := b.settle(ctx, ip)
	if err != nil {
		return faultTrial{}, err
	}
	nodes := b.l.NodeNames()
	next, _ := l2.Owner([]netip.Addr{ip}, slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == owner }))
	t := faultTrial{owner: owner, next: next}
	p, err := b.l.NewProber("client", ip)
	if err != nil {
		return t, err
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx) }()
	stopProbing := func() { stop(); <-done }
	count := func(node string, since time.Time, want int) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) { return answersBy(p.Samples(), node, since) >= want, nil }
	}
	if err := wait.For(ctx, l2Settle, 5*time.Millisecond, count(owner, time.Time{}, warmAnswers)); err != nil {
		stopProbing()
		return t, fmt.Errorf("probes through %s never reached %s: %w", ip, owner, err)
	}
	t.at = time.Now()
	if err := f(ctx, b, owner, ip); err != nil {
		stopProbing()
		return t, err
	}
	err = wait.For(ctx, l2Settle, 5*time.Millisecond, count(next, t.at, afterAnswers))
	stopProbing()
	t.samples = p.Samples()
	if err != nil {
		return t, fmt.Errorf("probes through %s never reached the next owner %s: %w (%v)", ip, next, err, b.l.CheckPylon())
	}
	return t, nil
}

// hardFailure kills the owner's speaker and cuts its link at once.
func hardFailure(ctx context.Context, b *l2Lab, owner string, _ netip.Addr) error {
	if err := b.l.SignalSpeaker(owner, syscall.SIGKILL); err != nil {
		return err
	}
	return b.l.CutLink(ctx, owner)
}

// crash kills the owner's speaker; the node keeps serving.
func crash(_ context.Context, b *l2Lab, owner string, _ netip.Addr) error {
	return b.l.SignalSpeaker(owner, syscall.SIGKILL)
}

// gracefulStop returns a fault that stops the owner's speaker with SIGTERM
// and records in *exited when it had exited.
func gracefulStop(exited *time.Time) fault {
	return func(ctx context.Context, b *l2Lab, owner string, _ netip.Addr) error {
		err := b.l.StopSpeaker(ctx, owner, 10*time.Second)
		*exited = time.Now()
		return err
	}
}

// failures lists the distinct errors of the failed probes started at or
// after the fault.
func (t faultTrial) failures() []string {
	var out []string
	for _, s := range t.samples {
		if !s.OK() && !s.Start.Before(t.at) && !slices.Contains(out, s.Err) {
			out = append(out, s.Err)
		}
	}
	return out
}

// lateAnswers counts the probes answered by the old owner that started
// after its speaker exited: the client still used the old owner's MAC
// although nobody answered ARP/NDP for it any more, so a node going away
// with its speaker would have failed them.
func (t faultTrial) lateAnswers(exited time.Time) int {
	return answersBy(t.samples, t.owner, exited)
}

func runL2Failover(ctx context.Context, env *Env) ([]Figure, error) {
	trials, err := runFaults(ctx, env, hardFailure, func(i int, t faultTrial) {
		env.Printf("trial %d: %s killed and cut, %s took over; outage %v (%d failed probes)",
			i+1, t.owner, t.next, t.outage().Round(time.Millisecond), t.failed())
	})
	var outages []time.Duration
	for _, t := range trials {
		outages = append(outages, t.outage())
	}
	if len(outages) == 0 {
		return nil, err
	}
	s := Summarize(outages)
	note := "10 ms HTTP probes (500 ms timeout), new connection each; outage = first failed probe start → first answered probe start"
	return []Figure{
		{Name: "L2 hard failover (SIGKILL + link down): client outage p50", Value: Seconds(s.P50), Unit: "s",
			Spread: s.Spread(time.Second), MetalLB: "5.43 s", Target: "≤ 0.2 s", Pass: Met(s.P50 <= 200*time.Millisecond), Note: note},
		{Name: "L2 hard failover (SIGKILL + link down): client outage max", Value: Seconds(s.Max), Unit: "s",
			Spread: fmt.Sprintf("n=%d", s.N), MetalLB: "6.48 s", Target: "≤ 0.3 s", Pass: Met(s.Max <= 300*time.Millisecond)},
	}, err
}

func runL2Crash(ctx context.Context, env *Env) ([]Figure, error) {
	var failed int
	trials, err := runFaults(ctx, env, crash, func(i int, t faultTrial) {
		d, _ := t.takeover()
		failed += t.failed()
		env.Printf("trial %d: %s killed, %s answers after %v (%d failed probes)", i+1, t.owner, t.next, d.Round(time.Millisecond), t.failed())
	})
	var takeovers []time.Duration
	for _, t := range trials {
		if d, ok := t.takeover(); ok {
			takeovers = append(takeovers, d)
		}
	}
	if len(takeovers) == 0 {
		return nil, err
	}
	s := Summarize(takeovers)
	return []Figure{{
		Name: "L2 speaker crash (node serving): time until the next owner answers, p50", Value: Millis(s.P50), Unit: "ms",
		Spread: s.Spread(time.Millisecond), MetalLB: "5.38 s", Target: "≤ 1 s", Pass: Met(s.P50 <= time.Second),
		Note: fmt.Sprintf("SIGKILL → start of the first 10 ms probe answered by the next owner; %d probes failed in all", failed),
	}}, err
}

func runL2Handover(ctx context.Context, env *Env) ([]Figure, error) {
	var exited time.Time
	late := 0
	trials, err := runFaults(ctx, env, gracefulStop(&exited), func(i int, t faultTrial) {
		d, _ := t.takeover()
		late += t.lateAnswers(exited)
		env.Printf("trial %d: %s stopped (exit after %v), %s answers after %v; %d failed probes %q, %d answered by %s after its exit",
			i+1, t.owner, exited.Sub(t.at).Round(time.Millisecond), t.next, d.Round(time.Millisecond), t.failed(), t.failures(), t.lateAnswers(exited), t.owner)
	})
	var takeovers []time.Duration
	gaps, resets := 0, 0
	for _, t := range trials {
		gaps += t.failed() - t.resets()
		resets += t.resets()
		if d, ok := t.takeover(); ok {
			takeovers = append(takeovers, d)
		}
	}
	if len(trials) == 0 {
		return nil, err
	}
	s := Summarize(takeovers)
	return []Figure{
		{Name: "L2 graceful hand-over (SIGTERM): failed probes (timeouts, unreachable), all trials", Value: float64(gaps), Unit: "probes",
			Spread: fmt.Sprintf("n=%d trials", len(trials)), MetalLB: "0", Target: "0", Pass: Met(gaps == 0),
			Note: "a gap in the answers would show here"},
		{Name: "L2 graceful hand-over (SIGTERM): probes reset at the switch, all trials", Value: float64(resets), Unit: "probes",
			Spread: fmt.Sprintf("n=%d trials", len(trials)),
			Note:   "connection open to the old node when the client switched; its rest reached the new node, which reset it: inherent to moving an address"},
		{Name: "L2 graceful hand-over (SIGTERM): probes still reaching the old node after its speaker exited", Value: float64(late), Unit: "probes",
			Spread: fmt.Sprintf("n=%d trials", len(trials)), Target: "0", Pass: Met(late == 0),
			Note: "0: the client had switched before the old speaker stopped answering, so the node could go away at once"},
		{Name: "L2 graceful hand-over (SIGTERM): time until the next owner answers, p50", Value: Millis(s.P50), Unit: "ms",
			Spread: s.Spread(time.Millisecond), MetalLB: "77 ms", Target: "≤ 77 ms", Pass: Met(s.N > 0 && s.P50 <= 77*time.Millisecond),
			Note: "SIGTERM → start of the first 10 ms probe answered by the next owner"},
	}, err
}
