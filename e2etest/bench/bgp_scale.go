package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// bgpScalePool is a BGP pool of 1,024 addresses (RFC 2544 range, inside the
// lab only) announced to every peer of the demo configuration (one IPv4 and
// one IPv6 session per node).
const bgpScalePool = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-bgp-scale}
spec:
  addresses: [198.18.0.0/22]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bench-bgp-scale}
spec:
  ipAddressPools: [bench-bgp-scale]
`

// bgpScaleTrial is what one run of bgp-scale measured. Durations of the
// run with Pylon count from the first create.
type bgpScaleTrial struct {
	rate                       float64       // Services per second (0: unpaced)
	createsAlone, cpuAlone     time.Duration // lab without Pylon
	creates, lastIP, allAtFRR  time.Duration // lab with Pylon
	cpuWith, speakersCPU       time.Duration
	speakerRSS, speakerRSSIdle uint64
	events, announcedEvents    int
	bgpStatuses                int
	trail                      time.Duration // last IP → all Events written
	// CPU of the lab's processes during the creates alone (first create →
	// last), and with Pylon (first create → all prefixes at FRR).
	burstAlone, burstWith LabCPU
}

// metalLBCreateRate is the pace of the creates alone under TARGETS.md's
// MetalLB figure: 1,000 Services in 12–14 s, taken as 13 s.
const metalLBCreateRate = scaleServices / 13.0

// runBGPScale returns bgp-scale's run function with the creates paced at
// rate Services per second (0: as fast as the clients go; --rate overrides
// a positive rate).
func runBGPScale(rate float64) func(context.Context, *Env) ([]Figure, error) {
	return func(ctx context.Context, env *Env) ([]Figure, error) {
		paced := rate
		if paced > 0 {
			paced = env.Rate(paced)
		}
		return bgpScaleTrials(ctx, env, paced)
	}
}

func bgpScaleTrials(ctx context.Context, env *Env, rate float64) ([]Figure, error) {
	var trials []bgpScaleTrial
	for i := range env.Trials(1) {
		t := bgpScaleTrial{rate: rate}
		env.Printf("trial %d: the creates alone (no load balancer)", i+1)
		if err := bgpCreatesAlone(ctx, env, &t); err != nil {
			return bgpScaleFigures(trials), err
		}
		env.Printf("trial %d: creates alone %v (%v API CPU); now with Pylon in BGP mode", i+1,
			t.createsAlone.Round(time.Millisecond), t.cpuAlone.Round(time.Millisecond))
		if err := bgpScaleWithPylon(ctx, env, &t); err != nil {
			return bgpScaleFigures(trials), err
		}
		env.Printf("trial %d: all %d prefixes at FRR %v after the first create, %v after the last IP; API CPU %v; %d Events",
			i+1, scaleServices, t.allAtFRR.Round(time.Millisecond), (t.allAtFRR - t.lastIP).Round(time.Millisecond),
			t.cpuWith.Round(time.Millisecond), t.events)
		trials = append(trials, t)
	}
	return bgpScaleFigures(trials), nil
}

// bgpScaleBulk is the scenario's 1,000 Services in the BGP pool.
func bgpScaleBulk(env *Env, l *lab.Lab, rate float64) Bulk {
	b := scaleBulk(env, l)
	b.Rate = rate
	b.Annotations = map[string]string{v1beta1.AnnotationAddressPool: "bench-bgp-scale"}
	return b
}

// bgpCreatesAlone creates the Services in a lab without Pylon: the time
// and API-server CPU every load balancer adds to.
func bgpCreatesAlone(ctx context.Context, env *Env, t *bgpScaleTrial) error {
	l, err := env.Lab(ctx, lab.Options{})
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	meter, err := bgpScaleStart(ctx, l)
	if err != nil {
		return err
	}
	cpu0 := ReadLabCPU(l)
	start, end, err := bgpScaleBulk(env, l, t.rate).Create(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.burstAlone = ReadLabCPU(l).Since(cpu0)
	t.createsAlone = end.Sub(start)
	t.cpuAlone, err = meter.WaitQuiet(ctx, time.Second, time.Minute)
	return err
}

// bgpScaleStart creates the namespace and starts the API-server CPU meter
// (3 s of idle measurement).
func bgpScaleStart(ctx context.Context, l *lab.Lab) (*CPUMeter, error) {
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return nil, err
	}
	api, err := APIServer(l)
	if err != nil {
		return nil, err
	}
	return StartCPUMeter(ctx, api, 3*time.Second)
}

// bgpScaleWithPylon creates the Services with Pylon running in BGP mode
// and times until every one has an IP and FRR has every prefix from every
// node; then reads CPU, RSS, Events and BGP statuses.
func bgpScaleWithPylon(ctx context.Context, env *Env, t *bgpScaleTrial) error {
	l, frr, err := env.ReadyLab(ctx, ReadyOptions{Demo: demo.Options{Config: demo.Config + "---\n" + bgpScalePool}})
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	meter, err := bgpScaleStart(ctx, l)
	if err != nil {
		return err
	}
	w, err := StartIngressWatch(ctx, l.Admin.Kube, benchNamespace)
	if err != nil {
		return err
	}
	defer w.Close()
	rss0, cpu0, err := speakersUsage(l)
	if err != nil {
		return err
	}
	t.speakerRSSIdle = rss0
	labCPU0 := ReadLabCPU(l)
	start, end, err := bgpScaleBulk(env, l, t.rate).Create(ctx, l.Admin.Kube)
	if err != nil {
		return err
	}
	t.creates = end.Sub(start)
	last, err := waitAll(ctx, l, w)
	if err != nil {
		return err
	}
	t.lastIP = last.Sub(start)
	at, err := waitPrefixesAtFRR(ctx, l, frr, scaleServices)
	if err != nil {
		return err
	}
	t.allAtFRR = at.Sub(start)
	t.burstWith = ReadLabCPU(l).Since(labCPU0)
	done, err := WaitObjects(ctx, l.Admin.Dynamic, benchNamespace, 30*time.Second, ObjectCount{eventsGVR, 2 * scaleServices})
	if err != nil {
		return err
	}
	t.trail = done.Sub(last)
	if t.cpuWith, err = meter.WaitQuiet(ctx, time.Second, 2*time.Minute); err != nil {
		return err
	}
	rss, cpu, err := speakersUsage(l)
	if err != nil {
		return err
	}
	t.speakerRSS, t.speakersCPU = rss, cpu-cpu0
	if t.events, t.announcedEvents, err = countEvents(ctx, l, benchNamespace, "BGPAnnounced"); err != nil {
		return err
	}
	sts, err := l.Admin.Dynamic.Resource(v1beta1.GroupVersion.WithResource("servicebgpstatuses")).
		Namespace(lab.PylonNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list BGP statuses: %w", err)
	}
	t.bgpStatuses = len(sts.Items)
	return nil
}

// waitPrefixesAtFRR polls FRR every 100 ms until it has received n IPv4
// prefixes from every node, and returns when it saw that.
func waitPrefixesAtFRR(ctx context.Context, l *lab.Lab, frr *routers.FRR, n int) (time.Time, error) {
	var counts map[netip.Addr]int
	var at time.Time
	err := wait.For(ctx, 5*time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		var err error
		if counts, err = frrPrefixCounts(ctx, frr); err != nil {
			return false, err
		}
		at = time.Now()
		for _, a := range nodesV4(l) {
			if counts[a] < n {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return at, fmt.Errorf("FRR has %v of %d prefixes per node: %w (%v)", counts, n, err, l.CheckPylon())
	}
	return at, nil
}

func bgpScaleFigures(trials []bgpScaleTrial) []Figure {
	if len(trials) == 0 {
		return nil
	}
	sec := func(f func(bgpScaleTrial) time.Duration) Values {
		return SummarizeValues(collect(trials, func(t bgpScaleTrial) float64 { return f(t).Seconds() }))
	}
	num := func(f func(bgpScaleTrial) float64) Values { return SummarizeValues(collect(trials, f)) }
	alone := sec(func(t bgpScaleTrial) time.Duration { return t.createsAlone })
	total := sec(func(t bgpScaleTrial) time.Duration { return t.allAtFRR })
	over := sec(func(t bgpScaleTrial) time.Duration { return t.allAtFRR - t.createsAlone })
	afterIP := sec(func(t bgpScaleTrial) time.Duration { return t.allAtFRR - t.lastIP })
	creates := sec(func(t bgpScaleTrial) time.Duration { return t.creates })
	cpuAlone := sec(func(t bgpScaleTrial) time.Duration { return t.cpuAlone })
	cpuOver := sec(func(t bgpScaleTrial) time.Duration { return t.cpuWith - t.cpuAlone })
	spkCPU := sec(func(t bgpScaleTrial) time.Duration { return t.speakersCPU })
	rss := num(func(t bgpScaleTrial) float64 { return float64(t.speakerRSS) / mib })
	rssIdle := num(func(t bgpScaleTrial) float64 { return float64(t.speakerRSSIdle) / mib })
	evs := num(func(t bgpScaleTrial) float64 { return float64(t.events) })
	ann := num(func(t bgpScaleTrial) float64 { return float64(t.announcedEvents) })
	sts := num(func(t bgpScaleTrial) float64 { return float64(t.bgpStatuses) })
	trail := sec(func(t bgpScaleTrial) time.Duration { return t.trail })
	burstAlone := sec(func(t bgpScaleTrial) time.Duration { return t.burstAlone.Total() })
	burstWith := sec(func(t bgpScaleTrial) time.Duration { return t.burstWith.Total() })
	last := trials[len(trials)-1]
	pace := "creates as fast as the clients go"
	if last.rate > 0 {
		pace = fmt.Sprintf("creates paced at %s Services/s", Format(last.rate))
		if last.rate == metalLBCreateRate {
			pace += ", MetalLB's pace"
		}
	}
	timing := []Figure{
		{Name: fmt.Sprintf("1,000 BGP Services (%s): all prefixes at FRR from 3 nodes, after the last IP", pace),
			Value: afterIP.P50, Unit: "s", Spread: afterIP.Spread("s"), Target: "≤ 5 s (issue)", Pass: Met(afterIP.P50 <= 5),
			Note: "last IP in a Service's status (watch) → FRR's per-neighbour counts reach 1,000 (polled every 100 ms)"},
		{Name: fmt.Sprintf("1,000 BGP Services (%s): first create → all prefixes at FRR", pace), Value: total.P50, Unit: "s",
			Spread: total.Spread("s"), MetalLB: "107 s (85–121 s)", Target: fmt.Sprintf("≤ creates alone + 2 s (%s s)", Format(alone.P50+2)),
			Pass: Met(over.P50 <= 2), Note: fmt.Sprintf("creates alone %s s; with Pylon the creates took %s s", Format(alone.P50), Format(creates.P50))},
		{Name: fmt.Sprintf("1,000 BGP Services (%s): all at FRR, above the creates alone", pace), Value: over.P50, Unit: "s",
			Spread: over.Spread("s"), MetalLB: "≈ 94 s (creates alone 12–14 s)", Target: "≤ 2 s", Pass: Met(over.P50 <= 2)},
		{Name: fmt.Sprintf("Lab CPU during the creates alone (%s; all processes)", pace), Value: burstAlone.P50, Unit: "CPU-s",
			Spread: burstAlone.Spread("CPU-s"), Note: fmt.Sprintf("last trial: %s over %s s (2 cores)", last.burstAlone,
				Format(last.createsAlone.Seconds()))},
		{Name: fmt.Sprintf("Lab CPU from the first create to all prefixes at FRR, with Pylon (%s; all processes)", pace),
			Value: burstWith.P50, Unit: "CPU-s", Spread: burstWith.Spread("CPU-s"),
			Note: fmt.Sprintf("last trial: %s over %s s (2 cores)", last.burstWith, Format(last.allAtFRR.Seconds()))},
	}
	if last.rate > 0 {
		return timing
	}
	return append(timing, []Figure{
		{Name: "1,000 BGP Services: last IP → all Events written", Value: trail.P50, Unit: "s",
			Spread: trail.Spread("s"), Note: trailNote},
		{Name: "API-server CPU above the creates alone (1,000 BGP Services, 3 speakers, 2 peers each)", Value: cpuOver.P50, Unit: "CPU-s",
			Spread: cpuOver.Spread("CPU-s"), MetalLB: "+60–72 CPU-s", Target: "≤ +15 CPU-s", Pass: Met(cpuOver.P50 <= 15),
			Note: fmt.Sprintf("creates alone %s CPU-s; %s Events (%s BGPAnnounced), %s ServiceBGPStatus objects",
				Format(cpuAlone.P50), Format(evs.P50), Format(ann.P50), Format(sts.P50))},
		{Name: "Speaker RSS (largest of 3), 1,000 announced prefixes, 2 peers", Value: rss.P50, Unit: "MiB",
			Spread: rss.Spread("MiB"), MetalLB: "98–113 MiB", Target: "≤ 50 MiB", Pass: Met(rss.P50 <= 50),
			Note: fmt.Sprintf("idle (sessions up, nothing announced) %s MiB", Format(rssIdle.P50))},
		{Name: "Speakers' CPU for 1,000 BGP Services (3 speakers together)", Value: spkCPU.P50, Unit: "CPU-s",
			Spread: spkCPU.Spread("CPU-s"), Note: "from before the first create until the API server is quiet"},
	}...)
}
