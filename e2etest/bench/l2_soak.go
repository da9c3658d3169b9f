package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/l2"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// soakServices is how many Services the stressed soak announces.
const soakServices = 30

// soakLoss is the share of packets every node and the client drop on
// input during the soak (percent).
const soakLoss = 2

// SoakDurationEnv overrides the soak's length (a Go duration; default
// 10 minutes).
const SoakDurationEnv = "PYLON_BENCH_SOAK"

// soakCounters are the speaker metrics the soak compares before and after.
var soakCounters = []string{
	"pylon_l2_ownership_changes_total",
	"pylon_heartbeat_suspicions_total",
	"pylon_heartbeat_refuted_total",
	"pylon_heartbeat_verdicts_total",
	"pylon_heartbeat_stalls_total",
}

// soakResult is what one stressed soak measured.
type soakResult struct {
	duration time.Duration
	deltas   map[string]float64 // counter → increase summed over the speakers
	members  int                // times a speaker saw fewer members than nodes (sampled)
	samples  int
}

func runL2Soak(ctx context.Context, env *Env) ([]Figure, error) {
	d := 10 * time.Minute
	if v := os.Getenv(SoakDurationEnv); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", SoakDurationEnv, v, err)
		}
	}
	r, err := soakOnce(ctx, env, d)
	if err != nil {
		return nil, err
	}
	moves := r.deltas["pylon_l2_ownership_changes_total"]
	return []Figure{
		{Name: fmt.Sprintf("False failovers (address moves, every node alive) in %v, both cores busy, %d%% loss", r.duration.Round(time.Second), soakLoss),
			Value: moves, Unit: "moves", Target: "0", Pass: Met(moves == 0),
			Note: fmt.Sprintf("%d Services on 3 nodes; a speaker missed a member in %d of %d samples", soakServices, r.members, r.samples)},
		{Name: "… fast-detector suspicions raised / refuted / verdicts", Value: r.deltas["pylon_heartbeat_suspicions_total"], Unit: "suspicions",
			Note: fmt.Sprintf("%.0f refuted, %.0f verdicts (own and received), %.0f scheduling stalls", r.deltas["pylon_heartbeat_refuted_total"],
				r.deltas["pylon_heartbeat_verdicts_total"], r.deltas["pylon_heartbeat_stalls_total"])},
	}, nil
}

// soakOnce announces soakServices Services, then saturates the cores and
// drops soakLoss% of every node's and the client's input for d, and
// counts what moved.
func soakOnce(ctx context.Context, env *Env, d time.Duration) (soakResult, error) {
	r := soakResult{duration: d}
	b, err := startL2Lab(ctx, env, "")
	if err != nil {
		return r, err
	}
	defer b.l.Close(context.WithoutCancel(ctx))
	names := make([]string, soakServices)
	for i := range names {
		names[i] = fmt.Sprintf("soak-%02d", i)
	}
	bulk := Bulk{Namespace: benchNamespace, Names: names, Workers: 2, Endpoints: NodeEndpoints(b.l, false)}
	if _, _, err := bulk.Create(ctx, b.l.Admin.Kube); err != nil {
		return r, err
	}
	nodes := b.l.NodeNames()
	err = wait.For(ctx, time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		n, err := l2.TotalOwned(ctx, b.l, nodes)
		return n == soakServices, err
	})
	if err != nil {
		return r, fmt.Errorf("announce %d Services: %w", soakServices, err)
	}
	before, err := soakRead(ctx, b.l, nodes)
	if err != nil {
		return r, err
	}
	undo, err := dropInput(ctx, b.l, append(cloneNames(nodes), "client"), soakLoss)
	defer undo()
	if err != nil {
		return r, err
	}
	stop := cpuHogs(runtime.NumCPU())
	defer stop()
	env.Printf("soak: %d%% input loss on every node and the client, %d busy loops, for %v", soakLoss, runtime.NumCPU(), d)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(5 * time.Second):
		}
		ok, _, err := l2.Converged(ctx, b.l, nodes)
		r.samples++
		if err == nil && !ok {
			r.members++
		}
	}
	stop()
	undo()
	after, err := soakRead(ctx, b.l, nodes)
	if err != nil {
		return r, err
	}
	r.deltas = map[string]float64{}
	for k, v := range after {
		r.deltas[k] = v - before[k]
	}
	env.Printf("soak: %v", r.deltas)
	return r, nil
}

// cloneNames copies names (append must not write into the lab's slice).
func cloneNames(names []string) []string { return append([]string(nil), names...) }

// soakRead sums each soak counter over the speakers of nodes and over its
// labels (a counter a speaker does not export counts 0).
func soakRead(ctx context.Context, l *lab.Lab, nodes []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, n := range nodes {
		for _, c := range soakCounters {
			v, err := l2.SpeakerMetricSum(ctx, l, n, c)
			if err != nil {
				return nil, err
			}
			out[c] += v
		}
	}
	return out, nil
}

// dropInput makes each host drop pct% of its input (IP traffic; ARP is
// not filtered) with an nftables table of its own, and returns the undo.
func dropInput(ctx context.Context, l *lab.Lab, hosts []string, pct int) (func(), error) {
	const table = "pylon_soak"
	var done []string
	undo := func() {
		for _, h := range done {
			_, _ = l.Topo.MustHost(h).NS.Run(context.WithoutCancel(ctx), "nft", "delete", "table", "inet", table)
		}
		done = nil
	}
	steps := [][]string{
		{"add", "table", "inet", table},
		{"add", "chain", "inet", table, "in", "{ type filter hook input priority -10; }"},
		{"add", "rule", "inet", table, "in", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop"},
	}
	for _, h := range hosts {
		done = append(done, h)
		for _, args := range steps {
			if out, err := l.Topo.MustHost(h).NS.Run(ctx, "nft", args...); err != nil {
				return undo, fmt.Errorf("loss on %s: %w (%s)", h, err, out)
			}
		}
	}
	return undo, nil
}

// cpuHogs starts n busy loops in their own processes and returns the stop.
func cpuHogs(n int) func() {
	var cmds []*exec.Cmd
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if c.Start() == nil {
			cmds = append(cmds, c)
		}
	}
	return func() {
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			err := c.Wait()
			var ee *exec.ExitError
			_ = errors.As(err, &ee)
		}
		cmds = nil
	}
}
