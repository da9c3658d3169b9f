// Package pace spaces the API writes Pylon makes only to be observed —
// Events and status objects — behind one token bucket per process.
//
// The writes that carry addresses (a Service's status.loadBalancer) never
// wait for it. When a thousand Services arrive at once, the observable
// writes trail behind, coalesced where they can be, instead of competing
// with the creates and the addresses for an API server that is already
// saturated. One Service at a time never waits: the bucket's burst covers
// it.
package pace

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/reference"
)

// Defaults of the per-process budget for observable writes.
const (
	DefaultQPS   = 20
	DefaultBurst = 50
	// DefaultMaxQueued bounds the events waiting for the budget; beyond
	// it new events are dropped (and counted).
	DefaultMaxQueued = 10000
)

// NewLimiter returns the token bucket observable writes share; qps <= 0
// means no limit.
func NewLimiter(qps float64, burst int) *rate.Limiter {
	if qps <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(qps), max(burst, 1))
}

// Recorder hands events to an inner recorder no faster than a limiter
// allows. Eventf never blocks: it formats the note at once and queues the
// event; Run delivers the queue in order.
type Recorder struct {
	inner   events.EventRecorder
	scheme  *runtime.Scheme
	lim     *rate.Limiter
	max     int
	dropped prometheus.Counter

	mu      sync.Mutex
	pending []pendingEvent
	wake    chan struct{}
}

// pendingEvent is one event waiting for the budget.
type pendingEvent struct {
	regarding, related              runtime.Object
	eventtype, reason, action, note string
}

// NewRecorder wraps inner; scheme names the kinds of the objects events
// are about; maxQueued <= 0 means DefaultMaxQueued. The dropped-events
// counter is registered with reg when it is not nil. It starts nothing.
func NewRecorder(inner events.EventRecorder, scheme *runtime.Scheme, lim *rate.Limiter, maxQueued int, component string, reg prometheus.Registerer) *Recorder {
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueued
	}
	r := &Recorder{inner: inner, scheme: scheme, lim: lim, max: maxQueued, wake: make(chan struct{}, 1),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "pylon_events_dropped_total",
			Help:        "Events not emitted because too many were waiting for the write budget (--events-status-qps).",
			ConstLabels: prometheus.Labels{"component": component},
		})}
	if reg != nil {
		reg.MustRegister(r.dropped)
	}
	return r
}

// Eventf queues an event; see events.EventRecorder.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	regarding, related = r.ref(regarding), r.ref(related)
	r.mu.Lock()
	if len(r.pending) >= r.max {
		r.mu.Unlock()
		r.dropped.Inc()
		return
	}
	r.pending = append(r.pending, pendingEvent{regarding, related, eventtype, reason, action, note})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ref returns a reference to obj, or obj itself when the scheme cannot
// name its kind (the inner recorder then reports the problem).
func (r *Recorder) ref(obj runtime.Object) runtime.Object {
	if obj == nil {
		return nil
	}
	ref, err := reference.GetReference(r.scheme, obj)
	if err != nil {
		return obj
	}
	return ref
}

// Queued returns how many events wait for the budget.
func (r *Recorder) Queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Run delivers queued events until ctx ends; what is still queued then is
// dropped.
func (r *Recorder) Run(ctx context.Context) error {
	for {
		ev, ok := r.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-r.wake:
				continue
			}
		}
		if err := r.lim.Wait(ctx); err != nil {
			return nil // ctx ended
		}
		r.inner.Eventf(ev.regarding, ev.related, ev.eventtype, ev.reason, ev.action, "%s", ev.note)
	}
}

// Start runs the recorder as a controller-runtime Runnable.
func (r *Recorder) Start(ctx context.Context) error { return r.Run(ctx) }

// NeedLeaderElection tells controller-runtime to run the recorder on every
// replica: events of standby replicas are delivered too.
func (r *Recorder) NeedLeaderElection() bool { return false }

// pop takes the oldest queued event.
func (r *Recorder) pop() (pendingEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return pendingEvent{}, false
	}
	ev := r.pending[0]
	r.pending[0] = pendingEvent{}
	r.pending = r.pending[1:]
	if len(r.pending) == 0 {
		r.pending = nil // let the backing array go after a burst
	}
	return ev, true
}
