package controller_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/procutil"
	"github.com/pylonlb/pylon/internal/testenv"
)

// BenchmarkController1000 measures the controller process against the real
// API server with 1,000 LoadBalancer Services (PYLON_BENCH_SERVICES):
//   - creates_s: creating them with no load balancer running (baseline);
//   - assign_s: creating them with the controller running, until all have
//     an address (TARGETS: at most a little above the baseline);
//   - coldstart_s: starting the controller with that many Services
//     waiting (TARGETS: ≤ 6 s);
//   - apiserver_cpu_s: API server CPU for the run with the controller,
//     minus the baseline's;
//   - controller_peak_MiB: the controller's peak RSS (TARGETS: ≤ 40 MiB).
//
// Run with -benchtime=1x: one iteration takes about a minute.
func BenchmarkController1000(b *testing.B) {
	testenv.Require(b, env)
	n := envInt("PYLON_BENCH_SERVICES", 1000)
	bin := controllerBinary(b)
	kubeconfig := writeKubeconfig(b)
	apiPID, err := env.APIServerPID()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		baseNS := newBenchNS(b)
		base := measure(b, apiPID, func() { createServices(b, baseNS, n, "") })
		deleteAllAndWait(b, baseNS.app) // each phase sees only its own Services
		ns := newBenchNS(b)
		stop, pid := startController(b, bin, kubeconfig, ns.install)
		var assign time.Duration
		withCtrl := measure(b, apiPID, func() {
			createServices(b, ns, n, "")
			start := time.Now()
			waitAllAssigned(b, ns.app, n)
			assign = time.Since(start)
		})
		stop()
		deleteAllAndWait(b, ns.app)
		cold := newBenchNS(b)
		createServices(b, cold, n, "")
		start := time.Now()
		stop2, pid2 := startController(b, bin, kubeconfig, cold.install)
		waitAllAssigned(b, cold.app, n)
		coldStart := time.Since(start)
		_, peak1, _ := procutil.Memory(pid)
		_, peak2, _ := procutil.Memory(pid2)
		anon, file, _ := procutil.Breakdown(pid2)
		stop2()
		b.ReportMetric(base.wall.Seconds(), "creates_s")
		b.ReportMetric((withCtrl.wall).Seconds(), "creates+assign_s")
		b.ReportMetric(assign.Seconds(), "assign_after_last_create_s")
		b.ReportMetric(coldStart.Seconds(), "coldstart_s")
		b.ReportMetric((withCtrl.cpu - base.cpu).Seconds(), "apiserver_extra_cpu_s")
		b.ReportMetric(float64(max(peak1, peak2))/(1<<20), "controller_peak_MiB")
		b.ReportMetric(float64(anon)/(1<<20), "controller_anon_MiB")
		b.ReportMetric(float64(file)/(1<<20), "controller_file_MiB")
	}
}

// benchNS is a pair of namespaces with a big pool.
type benchNS struct{ install, app string }

// newBenchNS creates namespaces and a /20 pool.
func newBenchNS(b *testing.B) benchNS {
	ns := benchNS{install: testenv.Namespace(b, env, "pylon", nil), app: testenv.Namespace(b, env, "bench", nil)}
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns.install},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.80.0.0/20"}}}
	if err := env.Client.Create(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { deleteAll(ns.app) })
	return ns
}

// run is what one measured phase cost.
type run struct{ wall, cpu time.Duration }

// measure times f and the API server's CPU during it.
func measure(b *testing.B, apiPID int, f func()) run {
	cpu0, err := procutil.CPUTime(apiPID)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f()
	wall := time.Since(start)
	cpu1, _ := procutil.CPUTime(apiPID)
	return run{wall: wall, cpu: cpu1 - cpu0}
}

// createServices creates n LoadBalancer Services with 4 parallel clients.
func createServices(b *testing.B, ns benchNS, n int, class string) {
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%04d", i), Namespace: ns.app},
					Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "x"},
						AllocateLoadBalancerNodePorts: ptr(false), // 3,000 Services would exhaust the node ports
						Ports:                         []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
				if class != "" {
					s.Spec.LoadBalancerClass = &class
				}
				if err := env.Client.Create(context.Background(), s); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// waitAllAssigned polls until n Services in ns have an address.
func waitAllAssigned(b *testing.B, ns string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var list corev1.ServiceList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err == nil {
			done := 0
			for _, s := range list.Items {
				if len(s.Status.LoadBalancer.Ingress) > 0 {
					done++
				}
			}
			if done >= n {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("Services in %s not all assigned after 5 minutes", ns)
}

// deleteAll deletes every Service of a namespace.
func deleteAll(ns string) {
	var list corev1.ServiceList
	_ = env.Client.List(context.Background(), &list, client.InNamespace(ns))
	for i := range list.Items {
		_ = env.Client.Delete(context.Background(), &list.Items[i])
	}
}

// deleteAllAndWait deletes a namespace's Services and waits until they
// are gone.
func deleteAllAndWait(b *testing.B, ns string) {
	deleteAll(ns)
	for range 600 {
		var list corev1.ServiceList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err == nil && len(list.Items) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("Services of %s not deleted", ns)
}

// controllerBinary returns $PYLON_BIN/controller or builds one.
func controllerBinary(b *testing.B) string {
	if dir := os.Getenv("PYLON_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "controller")); err == nil {
			return filepath.Join(dir, "controller")
		}
	}
	out := filepath.Join(b.TempDir(), "controller")
	cmd := exec.Command("go", "build", "-o", out, "github.com/pylonlb/pylon/controller")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build controller: %v\n%s", err, msg)
	}
	return out
}

// writeKubeconfig writes an admin kubeconfig for the process.
func writeKubeconfig(b *testing.B) string {
	kc, err := env.KubeConfig()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// startController runs the controller process for one install namespace.
func startController(b *testing.B, bin, kubeconfig, ns string) (stop func(), pid int) {
	cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--namespace", ns, "--metrics-bind-address", "0",
		"--health-probe-bind-address", "0", "--log-level", "error")
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()                                             // PYLON_BENCH_* aside, GOGC/GOMEMLIMIT/GODEBUG pass through for experiments
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the benchmark
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	var stopping atomic.Bool
	go func() {
		_ = cmd.Wait()
		if !stopping.Load() {
			b.Error("the controller process exited early")
		}
		close(exited)
	}()
	return func() {
		if !stopping.Swap(true) {
			_ = cmd.Process.Signal(os.Interrupt)
			<-exited
		}
	}, cmd.Process.Pid
}
