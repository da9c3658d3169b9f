// Package bench holds Pylon's lab benchmarks: scenarios that run in real
// labs (package lab) and return figures, which `pylon-lab bench` prints
// next to MetalLB's and our target from /work/shared/TARGETS.md, and saves
// as a markdown and a JSON report in e2etest/.runs/bench-TIME.{md,json}.
//
// # Adding a scenario
//
// Scenarios are listed by plain functions, no init(): [All] concatenates
// controllerScenarios (controller.go), l2Scenarios (l2.go) and
// bgpScenarios (bgp.go). To add one, append a [Scenario] to the function
// of your area:
//
//	func l2Scenarios() []Scenario {
//		return []Scenario{{
//			Name:        "l2-failover",     // unique, lower-case, for --only
//			Description: "hard failover: SIGKILL + link down, outage seen by the client",
//			Run:         runL2Failover,
//		}}
//	}
//
//	func runL2Failover(ctx context.Context, env *Env) ([]Figure, error) {
//		l, frr, err := env.ReadyLab(ctx, ReadyOptions{}) // lab + FRR + sample config + Pylon, ready
//		...
//		for range env.Trials(12) { ... }            // --trials N overrides 12
//		s := Summarize(outages)
//		return []Figure{{
//			Name: "L2 hard failover outage (p50)", Value: Millis(s.P50), Unit: "ms",
//			Spread: s.Spread(time.Millisecond), MetalLB: "5.43 s", Target: "≤ 1.0 s",
//			Pass: Met(s.P50 <= time.Second),
//		}}, nil
//	}
//
// Rules: every lab a scenario starts through [Env.Lab] or [Env.ReadyLab] is
// closed when the scenario returns (close it earlier yourself when you start
// a second one: the machine has 2 cores). Wait with polling, never fixed
// sleeps. Return the figures you measured even with an error when they are
// meaningful; an error marks the scenario failed in the report. Use
// [Env.Printf] for progress a human waits on (a line per phase or trial
// group, not per event). Repeat trials and report medians with their spread;
// the report records the machine's load before and after each scenario.
package bench
