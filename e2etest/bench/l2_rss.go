package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// rssTrial is what one run of l2-rss measured.
type rssTrial struct {
	idleRSS, rss   uint64        // largest speaker RSS before the Services and once all are announced
	creates, total time.Duration // the creates alone; first create → all announced
	cpu            time.Duration // largest speaker CPU time spent until all were announced
	idleCPU        float64       // largest speaker CPU share (of one core) while nothing changes afterwards
}

// idleWindow is how long l2-rss watches the speakers idle once every
// address is announced.
const idleWindow = 30 * time.Second

func runL2RSS(ctx context.Context, env *Env) ([]Figure, error) {
	var trials []rssTrial
	for i := range env.Trials(1) {
		t, err := rssOnce(ctx, env)
		if err != nil {
			return rssFigures(trials), fmt.Errorf("trial %d: %w", i+1, err)
		}
		env.Printf("trial %d: %d Services created in %v, all announced after %v; speaker RSS %.1f MiB (idle %.1f MiB), CPU %v, idle CPU %.2f%% of a core", i+1,
			scaleServices, t.creates.Round(time.Millisecond), t.total.Round(time.Millisecond), float64(t.rss)/mib, float64(t.idleRSS)/mib,
			t.cpu.Round(10*time.Millisecond), 100*t.idleCPU)
		trials = append(trials, t)
	}
	return rssFigures(trials), nil
}

// rssOnce brings a lab up, creates the Services, waits until the speakers
// announce all of them, reads their RSS and closes the lab.
func rssOnce(ctx context.Context, env *Env) (rssTrial, error) {
	var t rssTrial
	b, err := startL2Lab(ctx, env, "---\n"+scalePool)
	if err != nil {
		return t, err
	}
	defer b.l.Close(context.WithoutCancel(ctx))
	if t.idleRSS, err = b.speakerRSS(); err != nil {
		return t, err
	}
	cpu0, err := b.speakerCPU()
	if err != nil {
		return t, err
	}
	start, end, err := scaleBulk(env, b.l).Create(ctx, b.l.Admin.Kube)
	if err != nil {
		return t, err
	}
	t.creates = end.Sub(start)
	var owned int
	err = wait.For(ctx, 5*time.Minute, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		owned, err = l2.TotalOwned(ctx, b.l, b.l.NodeNames())
		return owned == scaleServices, err
	})
	if err != nil {
		return t, fmt.Errorf("speakers announce %d of %d addresses: %w (%v)", owned, scaleServices, err, b.l.CheckPylon())
	}
	t.total = time.Since(start)
	if t.rss, err = b.speakerRSS(); err != nil {
		return t, err
	}
	cpu1, err := b.speakerCPU()
	if err != nil {
		return t, err
	}
	for n := range cpu1 {
		t.cpu = max(t.cpu, cpu1[n]-cpu0[n])
	}
	select {
	case <-time.After(idleWindow):
	case <-ctx.Done():
		return t, ctx.Err()
	}
	cpu2, err := b.speakerCPU()
	for n := range cpu2 {
		t.idleCPU = max(t.idleCPU, (cpu2[n]-cpu1[n]).Seconds()/idleWindow.Seconds())
	}
	return t, err
}

// speakerCPU returns the CPU time of each of the lab's speakers.
func (b *l2Lab) speakerCPU() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, n := range b.l.NodeNames() {
		u, err := b.l.Speaker(n).Usage()
		if err != nil {
			return nil, fmt.Errorf("speaker %s usage: %w", n, err)
		}
		out[n] = u.CPU
	}
	return out, nil
}

// speakerRSS returns the largest RSS of the lab's speakers.
func (b *l2Lab) speakerRSS() (uint64, error) {
	var largest uint64
	for _, n := range b.l.NodeNames() {
		u, err := b.l.Speaker(n).Usage()
		if err != nil {
			return 0, fmt.Errorf("speaker %s usage: %w", n, err)
		}
		largest = max(largest, u.RSSBytes)
	}
	return largest, nil
}

func rssFigures(trials []rssTrial) []Figure {
	if len(trials) == 0 {
		return nil
	}
	rss := SummarizeValues(collect(trials, func(t rssTrial) float64 { return float64(t.rss) / mib }))
	idle := SummarizeValues(collect(trials, func(t rssTrial) float64 { return float64(t.idleRSS) / mib }))
	total := SummarizeValues(collect(trials, func(t rssTrial) float64 { return t.total.Seconds() }))
	creates := SummarizeValues(collect(trials, func(t rssTrial) float64 { return t.creates.Seconds() }))
	cpu := SummarizeValues(collect(trials, func(t rssTrial) float64 { return t.cpu.Seconds() }))
	idleCPU := SummarizeValues(collect(trials, func(t rssTrial) float64 { return 100 * t.idleCPU }))
	return []Figure{
		{Name: "Speaker RSS (largest of 3), 1,000 announced L2 Services", Value: rss.P50, Unit: "MiB",
			Spread: rss.Spread("MiB"), MetalLB: "98–113 MiB", Target: "≤ 50 MiB", Pass: Met(rss.P50 <= 50),
			Note: fmt.Sprintf("read once every address is announced; idle before the Services %s MiB", Format(idle.P50))},
		{Name: "1,000 L2 Services created → all announced", Value: total.P50, Unit: "s", Spread: total.Spread("s"),
			Note: fmt.Sprintf("from the first create; the creates (4 clients, with EndpointSlices) took %s s", Format(creates.P50))},
		{Name: "Speaker CPU (largest of 3) until 1,000 L2 Services are announced", Value: cpu.P50, Unit: "CPU-s", Spread: cpu.Spread("CPU-s"),
			Note: "each speaker recomputes the whole L2 plan on every Service/EndpointSlice change"},
		{Name: "Speaker CPU while idle (largest of 3), 1,000 L2 Services announced", Value: idleCPU.P50, Unit: "% of a core",
			Spread: idleCPU.Spread("%"), Note: fmt.Sprintf("over %v once every address is announced and nothing changes", idleWindow)},
	}
}
