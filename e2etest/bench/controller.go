package bench

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
)

// benchNamespace holds the Services benchmarks create.
const benchNamespace = "bench"

// scalePool is an L2 pool big enough for the scale scenario: 1,024
// addresses of the benchmarking range (RFC 2544), used inside the lab only.
const scalePool = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-scale}
spec:
  addresses: [198.18.0.0/22]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: bench-scale}
spec:
  ipAddressPools: [bench-scale]
`

// controllerScenarios lists the controller's benchmarks.
func controllerScenarios() []Scenario {
	return []Scenario{
		{
			Name:        "controller-latency",
			Description: "Service created → IP in its status (L2 pool, Pylon fully running; create call to watch event)",
			Run:         runControllerLatency,
		},
		{
			Name: "controller-scale",
			Description: "1,000 L2 Services (with endpoints on 3 nodes) created with Pylon running vs the creates alone; " +
				"API-server CPU; controller cold start with 1,000 waiting; RSS",
			Run: runControllerScale,
		},
	}
}

func runControllerLatency(ctx context.Context, env *Env) ([]Figure, error) {
	l, _, err := env.ReadyLab(ctx, ReadyOptions{})
	if err != nil {
		return nil, err
	}
	if err := l.Admin.EnsureNamespace(ctx, benchNamespace); err != nil {
		return nil, err
	}
	w, err := StartIngressWatch(ctx, l.Admin.Kube, benchNamespace)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	trials := env.Trials(20)
	env.Printf("%d trials (+1 warm-up), one Service at a time, deleted after each", trials)
	var lat []time.Duration
	for i := range trials + 1 {
		d, err := statusLatency(ctx, l, w, fmt.Sprintf("lat-%d", i))
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
		if i > 0 {
			lat = append(lat, d)
		}
	}
	s := Summarize(lat)
	return []Figure{{
		Name: "Service created → IP in status (p50)", Value: Millis(s.P50), Unit: "ms",
		Spread: s.Spread(time.Millisecond), MetalLB: "28 ms", Target: "≤ 28 ms", Pass: Met(s.P50 <= 28*time.Millisecond),
		Note: "create call start → watch event with the IP, seen from the root namespace",
	}}, nil
}

// statusLatency creates one Service in the L2 pool, measures the time
// from the create call to the watch event with its IP, then deletes it.
func statusLatency(ctx context.Context, l *lab.Lab, w *IngressWatch, name string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	svc := kube.NewLoadBalancer(benchNamespace, name)
	svc.Annotations = map[string]string{v1beta1.AnnotationAddressPool: demo.L2Pool}
	svcs := l.Admin.Kube.CoreV1().Services(benchNamespace)
	t0 := time.Now()
	if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("create service %s: %w", name, err)
	}
	at, err := w.Ingress(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("wait for the IP of %s: %w (%v)", name, err, l.CheckPylon())
	}
	if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return 0, fmt.Errorf("delete service %s: %w", name, err)
	}
	if _, err := w.Deleted(ctx, name); err != nil {
		return 0, fmt.Errorf("wait for the deletion of %s: %w", name, err)
	}
	return at.Sub(t0), nil
}
