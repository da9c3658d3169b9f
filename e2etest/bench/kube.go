package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/internal/pace"
)

// IngressWatch records, for every Service of one namespace, the moment
// its status first showed an ingress IP (as the watch event arrived here)
// and the moment its deletion was seen.
type IngressWatch struct {
	now     func() time.Time
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every record
	got     map[string]time.Time
	gone    map[string]time.Time
	err     error
	done    chan struct{}
	cancel  context.CancelFunc
}

// StartIngressWatch lists the Services of namespace and watches them until
// Close; Services that already have an IP count from the list's time.
func StartIngressWatch(ctx context.Context, c kubernetes.Interface, namespace string) (*IngressWatch, error) {
	w := &IngressWatch{now: time.Now, changed: make(chan struct{}), got: map[string]time.Time{},
		gone: map[string]time.Time{}, done: make(chan struct{})}
	list, err := c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services in %s: %w", namespace, err)
	}
	for i := range list.Items {
		w.observe(watch.Added, &list.Items[i])
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.run(ctx, c, namespace, list.ResourceVersion)
	return w, nil
}

func (w *IngressWatch) run(ctx context.Context, c kubernetes.Interface, ns, rv string) {
	defer close(w.done)
	for ctx.Err() == nil {
		wi, err := c.CoreV1().Services(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			w.fail(fmt.Errorf("watch services in %s: %w", ns, err))
			return
		}
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				wi.Stop()
				w.fail(fmt.Errorf("watch services in %s: %v", ns, ev.Object))
				return
			}
			if svc, ok := ev.Object.(*corev1.Service); ok {
				rv = svc.ResourceVersion
				w.observe(ev.Type, svc)
			}
		}
		wi.Stop()
	}
}

func (w *IngressWatch) observe(t watch.EventType, svc *corev1.Service) {
	at := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case t == watch.Deleted:
		w.gone[svc.Name] = at
	case t == watch.Bookmark:
		return
	case len(svc.Status.LoadBalancer.Ingress) > 0:
		if _, seen := w.got[svc.Name]; seen {
			return
		}
		w.got[svc.Name] = at
	default:
		return
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *IngressWatch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitFor blocks until cond (called with w.mu held) returns true.
func (w *IngressWatch) waitFor(ctx context.Context, cond func() (time.Time, bool)) (time.Time, error) {
	for {
		w.mu.Lock()
		at, ok := cond()
		ch, err := w.changed, w.err
		w.mu.Unlock()
		if ok {
			return at, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-ch:
		}
	}
}

// Ingress waits until Service name has an IP and returns when that was seen.
func (w *IngressWatch) Ingress(ctx context.Context, name string) (time.Time, error) {
	return w.waitFor(ctx, func() (time.Time, bool) { at, ok := w.got[name]; return at, ok })
}

// Deleted waits until Service name's deletion was seen.
func (w *IngressWatch) Deleted(ctx context.Context, name string) (time.Time, error) {
	return w.waitFor(ctx, func() (time.Time, bool) { at, ok := w.gone[name]; return at, ok })
}

// Count waits until n Services have had an IP and returns when the n-th
// was seen.
func (w *IngressWatch) Count(ctx context.Context, n int) (time.Time, error) {
	return w.waitFor(ctx, func() (time.Time, bool) {
		if len(w.got) < n {
			return time.Time{}, false
		}
		var last time.Time
		for _, at := range w.got {
			if at.After(last) {
				last = at
			}
		}
		return last, true
	})
}

// Assigned returns how many Services have had an IP so far.
func (w *IngressWatch) Assigned() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.got)
}

// Close stops the watch and waits for its goroutine.
func (w *IngressWatch) Close() {
	w.cancel()
	<-w.done
}

// Bulk describes many LoadBalancer Services to create at once, each with
// EndpointSlices as the lab's endpoint stand-in.
type Bulk struct {
	Namespace string
	Names     []string
	// Annotations go on every Service (e.g. the address-pool annotation).
	Annotations map[string]string
	// Endpoints of every Service (none: no EndpointSlices).
	Endpoints []kube.Endpoint
	// Workers is the number of concurrent clients (default 4).
	Workers int
	// Rate, when positive, paces the creates: the i-th Service starts no
	// sooner than i/Rate seconds after the first (Services per second, all
	// clients together). Zero: as fast as the clients go.
	Rate float64
}

// Create creates the Services and their EndpointSlices and returns when
// the first create started and the last returned.
func (b Bulk) Create(ctx context.Context, c kubernetes.Interface) (start, end time.Time, err error) {
	workers := max(b.Workers, 1)
	if b.Workers == 0 {
		workers = 4
	}
	jobs := make(chan string)
	errs := make(chan error, workers)
	start = time.Now()
	for range workers {
		go func() {
			var first error
			for name := range jobs {
				if err := b.createOne(ctx, c, name); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for i, n := range b.Names {
		if b.Rate > 0 {
			at := start.Add(time.Duration(float64(i) / b.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
			}
		}
		select {
		case jobs <- n:
		case <-ctx.Done():
		}
	}
	close(jobs)
	var all []error
	for range workers {
		all = append(all, <-errs)
	}
	return start, time.Now(), errors.Join(append(all, ctx.Err())...)
}

func (b Bulk) createOne(ctx context.Context, c kubernetes.Interface, name string) error {
	svc := kube.NewLoadBalancer(b.Namespace, name)
	svc.Annotations = b.Annotations
	created, err := c.CoreV1().Services(b.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create service %s/%s: %w", b.Namespace, name, err)
	}
	for _, es := range kube.NewEndpointSlices(created, b.Endpoints) {
		if _, err := c.DiscoveryV1().EndpointSlices(b.Namespace).Create(ctx, es, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create endpoints of %s/%s: %w", b.Namespace, name, err)
		}
	}
	return nil
}

// NodeEndpoints returns a ready endpoint on every node of l: its IPv4
// address, and its IPv6 address too when dualStack.
func NodeEndpoints(l *lab.Lab, dualStack bool) []kube.Endpoint {
	var eps []kube.Endpoint
	for _, n := range l.Topo.Nodes() {
		eps = append(eps, kube.Endpoint{Node: n.Name, Addr: n.IPv4(), Ready: true})
		if dualStack {
			eps = append(eps, kube.Endpoint{Node: n.Name, Addr: n.IPv6(), Ready: true})
		}
	}
	return eps
}

// APIServer returns the lab's kube-apiserver process.
func APIServer(l *lab.Lab) (*proc.Process, error) {
	if l.Server == nil {
		return nil, errors.New("lab has no control plane")
	}
	for _, p := range l.Server.Processes() {
		if p.Name() == "kube-apiserver" {
			return p, nil
		}
	}
	return nil, errors.New("lab has no kube-apiserver process")
}

// CPUMeter measures the CPU time a process spends during a window, minus
// what it spends when idle (measured before the window starts).
type CPUMeter struct {
	p        *proc.Process
	idleRate float64 // CPU seconds per second when idle
	t0       time.Time
	cpu0     time.Duration
}

// StartCPUMeter measures p's idle CPU rate over idle, then starts the
// window.
func StartCPUMeter(ctx context.Context, p *proc.Process, idle time.Duration) (*CPUMeter, error) {
	u0, err := p.Usage()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(idle):
	}
	u1, err := p.Usage()
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	rate := (u1.CPU - u0.CPU).Seconds() / t1.Sub(t0).Seconds()
	return &CPUMeter{p: p, idleRate: rate, t0: t1, cpu0: u1.CPU}, nil
}

// IdleRate is the idle CPU use measured at start, in CPU-s per second.
func (m *CPUMeter) IdleRate() float64 { return m.idleRate }

// Used returns the CPU time spent since the window started, minus the idle
// rate over the window.
func (m *CPUMeter) Used() (time.Duration, error) {
	u, err := m.p.Usage()
	if err != nil {
		return 0, err
	}
	idle := time.Duration(m.idleRate * float64(time.Since(m.t0)))
	return u.CPU - m.cpu0 - idle, nil
}

// WaitQuiet waits until the process's CPU use over the last interval is at
// most twice its idle rate plus 2% of a core (the work triggered in the
// window is over), or timeout passes, and returns Used at that moment.
func (m *CPUMeter) WaitQuiet(ctx context.Context, interval, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	last, err := m.p.Usage()
	if err != nil {
		return 0, err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
		u, err := m.p.Usage()
		if err != nil {
			return 0, err
		}
		rate := (u.CPU - last.CPU).Seconds() / interval.Seconds()
		last = u
		if rate <= 2*m.idleRate+0.02 {
			break
		}
	}
	return m.Used()
}

// eventsGVR is core/v1 Events (events.k8s.io/v1 Events show there too).
var eventsGVR = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// trailNote explains the figures of how long Events and statuses trail
// the addresses in a burst.
var trailNote = fmt.Sprintf("paced at %d writes/s per process, burst %d (--events-status-qps/-burst); polled every second",
	pace.DefaultQPS, pace.DefaultBurst)

// ObjectCount asks for at least N objects of a resource in a namespace.
type ObjectCount struct {
	GVR schema.GroupVersionResource
	N   int
}

// WaitObjects polls (every second, with one-item lists that return the
// remaining count) until every count is reached and returns when that was
// seen; after stall without any count growing it gives up with an error.
// Pylon paces Events and status objects during bursts, so they trail the
// addresses: this is how long the trail is.
func WaitObjects(ctx context.Context, c dynamic.Interface, namespace string, stall time.Duration, want ...ObjectCount) (time.Time, error) {
	prev := make([]int, len(want))
	grew := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		done := true
		for i, w := range want {
			n, err := countObjects(ctx, c, namespace, w.GVR)
			if err != nil {
				return time.Time{}, err
			}
			if n > prev[i] {
				prev[i], grew = n, time.Now()
			}
			done = done && n >= w.N
		}
		if done {
			return time.Now(), nil
		}
		if time.Since(grew) > stall {
			return time.Time{}, fmt.Errorf("objects in %s stopped growing at %v (want %v)", namespace, prev, want)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// countObjects counts a namespace's objects of gvr with a one-item list.
func countObjects(ctx context.Context, c dynamic.Interface, namespace string, gvr schema.GroupVersionResource) (int, error) {
	l, err := c.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("count %s in %s: %w", gvr.Resource, namespace, err)
	}
	n := len(l.Items)
	if r := l.GetRemainingItemCount(); r != nil {
		n += int(*r)
	}
	return n, nil
}
