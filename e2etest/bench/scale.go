package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
)

// scaleServices is the number of Services of the scale scenario.
const scaleServices = 1000

// scaleWorkers is how many clients create the Services concurrently
// unless --clients says otherwise.
const scaleWorkers = 4

// scaleTrial is what one run of the scale scenario measured.
type scaleTrial struct {
	createsAlone, coldStart   time.Duration // lab without Pylon, then the controller started
	allIPs, createsWith       time.Duration // lab with Pylon running
	cpuAlone, cpuWith         time.Duration // kube-apiserver, minus idle
	controllerRSS, speakerRSS uint64        // speakerRSS: the largest
	controllerPeakRSS         uint64        // VmHWM: the largest RSS since start
	events, l2Statuses        int
	trail                     time.Duration // last IP → all Events and L2 statuses written
	// With Pylon running, from the first create until quiet.
	controllerCPU, speakersCPU time.Duration
	// API writes from the first create until quiet.
	writesAlone, writesWith APIWrites
}

func runControllerScale(ctx context.Context, env *Env) ([]Figure, error) {
	var trials []scaleTrial
	clients := env.Clients(scaleWorkers)
	for i := range env.Trials(1) {
		env.Printf("trial %d: creates alone, then the controller's cold start", i+1)
		var t scaleTrial
		if err := scaleAlone(ctx, env, &t); err != nil {
			return scaleFigures(trials, clients), err
		}
		env.Printf("trial %d: creates alone %v, cold start %v; now with Pylon running", i+1,
			t.createsAlone.Round(time.Millisecond), t.coldStart.Round(time.Millisecond))
		if err := scaleWithPylon(ctx, env, &t); err != nil {
			return scaleFigures(trials, clients), err
		}
		env.Printf("trial %d: all IPs %v after the first create (creates took %v)", i+1,
			t.allIPs.Round(time.Millisecond), t.createsWith.Round(time.Millisecond))
		trials = append(trials, t)
	}
	return scaleFigures(trials, clients), nil
}

func scaleBulk(env *Env, l *lab.Lab) Bulk {
	names := make([]string, scaleServices)
	for i := range names {
		names[i] = fmt.Sprintf("scale-%04d", i)
	}
	return Bulk{Namespace: benchNamespace, Names: names, Workers: env.Clients(scaleWorkers),
		Annotations: map[string]string{v1beta1.AnnotationAddressPool: "bench-scale"},
		Endpoints:   NodeEndpoints(l, false)}
}

// scaleAlone creates the Services in a lab without Pylon (the baseline),
// then starts the controller and times until every Service has an IP.
func scaleAlone(ctx context.Context, env *Env, t *scaleTrial) error {
	l, err := env.Lab(ctx, lab.Options{})
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	if err := l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(demo.Config+"---\n"+scalePool)); err != nil {
		return err
	}
	w, meter, err := scaleStart(ctx, l)
	if err != nil {
		return err
	}
	defer w.Close()
	w0, err := ReadAPIWrites(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	start, end, err := scaleBulk(env, l).Create(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.createsAlone = end.Sub(start)
	if t.cpuAlone, err = meter.WaitQuiet(ctx, time.Second, time.Minute); err != nil {
		return err
	}
	w1, err := ReadAPIWrites(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.writesAlone = w1.Sub(w0)
	t0 := time.Now()
	if _, err := l.StartController(ctx); err != nil {
		return err
	}
	last, err := waitAll(ctx, l, w)
	t.coldStart = last.Sub(t0)
	return err
}

// scaleWithPylon creates the Services with Pylon running and times until
// every one has an IP; then reads CPU, RSS, Events and L2 statuses.
func scaleWithPylon(ctx context.Context, env *Env, t *scaleTrial) error {
	l, _, err := env.ReadyLab(ctx, ReadyOptions{Demo: demo.Options{Config: demo.Config + "---\n" + scalePool}})
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	w, meter, err := scaleStart(ctx, l)
	if err != nil {
		return err
	}
	defer w.Close()
	cpu0, err := pylonCPU(l)
	if err != nil {
		return err
	}
	w0, err := ReadAPIWrites(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	start, end, err := scaleBulk(env, l).Create(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.createsWith = end.Sub(start)
	last, err := waitAll(ctx, l, w)
	if err != nil {
		return err
	}
	t.allIPs = last.Sub(start)
	done, err := WaitObjects(ctx, l.Admin.Dynamic, benchNamespace, 30*time.Second,
		ObjectCount{eventsGVR, 2 * scaleServices}, ObjectCount{v1beta1.GroupVersion.WithResource("servicel2statuses"), scaleServices})
	if err != nil {
		return err
	}
	t.trail = done.Sub(last)
	if t.cpuWith, err = meter.WaitQuiet(ctx, time.Second, 2*time.Minute); err != nil {
		return err
	}
	cpu1, err := pylonCPU(l)
	if err != nil {
		return err
	}
	w1, err := ReadAPIWrites(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.writesWith = w1.Sub(w0)
	t.controllerCPU = cpu1[0] - cpu0[0]
	for i := 1; i < len(cpu1); i++ {
		t.speakersCPU += cpu1[i] - cpu0[i]
	}
	return scaleUsage(ctx, l, t)
}

// scaleStart creates the namespace, starts the watch and the API-server
// CPU meter (3 s of idle measurement).
func scaleStart(ctx context.Context, l *lab.Lab) (*IngressWatch, *CPUMeter, error) {
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return nil, nil, err
	}
	api, err := APIServer(l)
	if err != nil {
		return nil, nil, err
	}
	w, err := StartIngressWatch(ctx, l.Admin.Kube, benchNamespace)
	if err != nil {
		return nil, nil, err
	}
	meter, err := StartCPUMeter(ctx, api, 3*time.Second)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, meter, nil
}

func waitAll(ctx context.Context, l *lab.Lab, w *IngressWatch) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	last, err := w.Count(ctx, scaleServices)
	if err != nil {
		return last, fmt.Errorf("wait for %d IPs (have %d): %w (%v)", scaleServices, w.Assigned(), err, l.CheckPylon())
	}
	return last, nil
}

// pylonCPU returns the CPU time used so far by the controller, then by
// each node's speaker.
func pylonCPU(l *lab.Lab) ([]time.Duration, error) {
	ps := []*proc.Process{l.Controller()}
	for _, n := range l.NodeNames() {
		ps = append(ps, l.Speaker(n))
	}
	var out []time.Duration
	for _, p := range ps {
		if p == nil {
			return nil, errors.New("read Pylon's CPU use: a process is not running")
		}
		u, err := p.Usage()
		if err != nil {
			return nil, fmt.Errorf("read %s's CPU use: %w", p.Name(), err)
		}
		out = append(out, u.CPU)
	}
	return out, nil
}

// scaleUsage reads the processes' RSS and counts Events and L2 statuses.
func scaleUsage(ctx context.Context, l *lab.Lab, t *scaleTrial) error {
	u, err := l.Controller().Usage()
	if err != nil {
		return fmt.Errorf("controller usage: %w", err)
	}
	t.controllerRSS, t.controllerPeakRSS = u.RSSBytes, u.PeakRSSBytes
	for _, n := range l.NodeNames() {
		u, err := l.Speaker(n).Usage()
		if err != nil {
			return fmt.Errorf("speaker %s usage: %w", n, err)
		}
		t.speakerRSS = max(t.speakerRSS, u.RSSBytes)
	}
	evs, err := l.Admin.Kube.CoreV1().Events(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	t.events = len(evs.Items)
	sts, err := l.Admin.Dynamic.Resource(v1beta1.GroupVersion.WithResource("servicel2statuses")).
		Namespace(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list L2 statuses: %w", err)
	}
	t.l2Statuses = len(sts.Items)
	return nil
}

const mib = 1 << 20

// scaleFigures turns the trials into figures (medians, with spread).
func scaleFigures(trials []scaleTrial, clients int) []Figure {
	if len(trials) == 0 {
		return nil
	}
	sec := func(f func(scaleTrial) time.Duration) Values {
		return SummarizeValues(collect(trials, func(t scaleTrial) float64 { return f(t).Seconds() }))
	}
	alone := sec(func(t scaleTrial) time.Duration { return t.createsAlone })
	all := sec(func(t scaleTrial) time.Duration { return t.allIPs })
	over := sec(func(t scaleTrial) time.Duration { return t.allIPs - t.createsAlone })
	with := sec(func(t scaleTrial) time.Duration { return t.createsWith })
	cold := sec(func(t scaleTrial) time.Duration { return t.coldStart })
	cpuAlone := sec(func(t scaleTrial) time.Duration { return t.cpuAlone })
	cpuOver := sec(func(t scaleTrial) time.Duration { return t.cpuWith - t.cpuAlone })
	ctlCPU := sec(func(t scaleTrial) time.Duration { return t.controllerCPU })
	spkCPU := sec(func(t scaleTrial) time.Duration { return t.speakersCPU })
	extra := SummarizeValues(collect(trials, func(t scaleTrial) float64 {
		return (t.writesWith.Total() - t.writesAlone.Total()) / scaleServices
	}))
	last := trials[len(trials)-1]
	ctl := SummarizeValues(collect(trials, func(t scaleTrial) float64 { return float64(t.controllerRSS) / mib }))
	ctlPeak := SummarizeValues(collect(trials, func(t scaleTrial) float64 { return float64(t.controllerPeakRSS) / mib }))
	spk := SummarizeValues(collect(trials, func(t scaleTrial) float64 { return float64(t.speakerRSS) / mib }))
	evs := SummarizeValues(collect(trials, func(t scaleTrial) float64 { return float64(t.events) }))
	l2s := SummarizeValues(collect(trials, func(t scaleTrial) float64 { return float64(t.l2Statuses) }))
	trail := sec(func(t scaleTrial) time.Duration { return t.trail })
	how := fmt.Sprintf("%d Services + EndpointSlices, %d concurrent clients", scaleServices, clients)
	return []Figure{
		{Name: "1,000 Services: the creates alone (no load balancer)", Value: alone.P50, Unit: "s",
			Spread: alone.Spread("s"), MetalLB: "12–14 s", Note: how},
		{Name: "1,000 Services: first create → all have IPs (Pylon running)", Value: all.P50, Unit: "s",
			Spread: all.Spread("s"), Target: "≤ creates alone + 2 s", Pass: Met(over.P50 <= 2),
			Note: fmt.Sprintf("the creates themselves took %s s with Pylon running", Format(with.P50))},
		{Name: "1,000 Services: all IPs, above the creates alone", Value: over.P50, Unit: "s",
			Spread: over.Spread("s"), MetalLB: "107 s − 13 s (to FRR, BGP)", Target: "≤ 2 s", Pass: Met(over.P50 <= 2)},
		{Name: "1,000 Services: last IP → all Events and ServiceL2Status objects written", Value: trail.P50, Unit: "s",
			Spread: trail.Spread("s"), Note: trailNote},
		{Name: "API-server CPU, the creates alone", Value: cpuAlone.P50, Unit: "CPU-s",
			Spread: cpuAlone.Spread("CPU-s"), MetalLB: "11 CPU-s", Note: "minus idle, until quiet"},
		{Name: "API-server CPU above the creates alone (1,000 L2 Services, 3 speakers)", Value: cpuOver.P50, Unit: "CPU-s",
			Spread: cpuOver.Spread("CPU-s"), MetalLB: "+60–72 CPU-s (BGP)", Target: "≤ +15 CPU-s", Pass: Met(cpuOver.P50 <= 15)},
		{Name: "API writes per Service by Pylon (above the creates alone)", Value: extra.P50, Unit: "",
			Spread: extra.Spread(""), Note: "last trial, per Service: " + last.writesWith.Sub(last.writesAlone).Top(6, scaleServices)},
		{Name: "Pylon's own CPU for 1,000 L2 Services: the controller", Value: ctlCPU.P50, Unit: "CPU-s",
			Spread: ctlCPU.Spread("CPU-s"), Note: "from the first create until the API server is quiet"},
		{Name: "Pylon's own CPU for 1,000 L2 Services: 3 speakers together", Value: spkCPU.P50, Unit: "CPU-s",
			Spread: spkCPU.Spread("CPU-s")},
		{Name: "Controller cold start, 1,000 Services waiting (start → last IP)", Value: cold.P50, Unit: "s",
			Spread: cold.Spread("s"), MetalLB: "12.3–13.5 s", Target: "≤ 6 s", Pass: Met(cold.P50 <= 6)},
		{Name: "Controller RSS, 1,000 Services", Value: ctl.P50, Unit: "MiB",
			Spread: ctl.Spread("MiB"), MetalLB: "74–89 MiB", Target: "≤ 40 MiB", Pass: Met(ctl.P50 <= 40),
			Note: "once all Events and statuses are written and the API server is quiet"},
		{Name: "Controller peak RSS (VmHWM) during the 1,000 creates", Value: ctlPeak.P50, Unit: "MiB",
			Spread: ctlPeak.Spread("MiB"), Note: "the largest RSS since the controller started"},
		{Name: "Speaker RSS (largest of 3), 1,000 L2 Services", Value: spk.P50, Unit: "MiB",
			Spread: spk.Spread("MiB"), MetalLB: "98–113 MiB", Target: "≤ 50 MiB", Pass: Met(spk.P50 <= 50)},
		{Name: "Events on the 1,000 Services", Value: evs.P50, Unit: "",
			Spread: evs.Spread(""), MetalLB: "~4,100 (BGP)", Note: fmt.Sprintf("%s ServiceL2Status objects", Format(l2s.P50))},
	}
}

func collect[T any](ts []T, f func(T) float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = f(t)
	}
	return out
}
