//go:build e2e

package selftest

import (
	"context"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
)

// BenchmarkLabUpDown measures a full 3-node lab coming up (network,
// control plane, Node objects, manifests, credentials) and going down.
//
//	go test -tags e2e -run '^$' -bench LabUpDown -benchtime 5x ./e2etest/selftest
func BenchmarkLabUpDown(b *testing.B) {
	labtest.Require(b, lab.Options{})
	var network, control, up, down time.Duration
	ctx := context.Background()
	for b.Loop() {
		l, err := lab.Up(ctx, lab.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := l.Close(ctx); err != nil {
			b.Fatal(err)
		}
		down += time.Since(t0)
		network, control, up = network+l.Timings.Network, control+l.Timings.ControlPlane, up+l.Timings.Total
	}
	n := float64(b.N)
	b.ReportMetric(float64(network.Milliseconds())/n, "ms-network/op")
	b.ReportMetric(float64(control.Milliseconds())/n, "ms-apiserver/op")
	b.ReportMetric(float64(up.Milliseconds())/n, "ms-up/op")
	b.ReportMetric(float64(down.Milliseconds())/n, "ms-down/op")
}
