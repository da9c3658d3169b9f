// Package pace spaces the API writes Pylon makes only to be observed —
// Events and status objects — behind one token bucket per process.
//
// The writes that carry addresses (a Service's status.loadBalancer) never
// wait for it. When a thousand Services arrive at once, the observable
// writes trail behind, coalesced where they can be, instead of competing
// with the creates and the addresses for an API server that is already
// saturated. One Service at a time never waits: the bucket's burst covers
// it.
//
// The package also writes the Events themselves (Recorder): queued in
// order, joined into series when they repeat, retried when the API server
// fails in passing.
package pace

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/internal/kube"
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

// Recorder writes events.k8s.io/v1 Events itself, no faster than a
// limiter allows. Eventf never blocks: it formats the note at once, turns
// the objects into references and queues the event; Run writes the queue
// in order. A repeat of an event within SeriesWindow raises the series
// count of the first one instead of creating another.
//
// It replaces client-go's broadcaster, which keeps a full copy of every
// event for six minutes and starts a goroutine per event: here a backlog
// holds references and notes only, and a series costs a few words.
type Recorder struct {
	c       kube.Writer
	scheme  *runtime.Scheme
	lim     *rate.Limiter
	clock   clock.Clock
	log     *slog.Logger
	max     int
	from    source
	dropped *prometheus.CounterVec

	mu      sync.Mutex
	pending []pendingEvent
	wake    chan struct{}

	// Owned by Run.
	series   *seriesBook
	lastName int64 // the newest timestamp used in an event name
}

// source is what every event says about who wrote it.
type source struct{ controller, instance string }

// pendingEvent is one event waiting for the budget.
type pendingEvent struct {
	regarding                       corev1.ObjectReference
	related                         *corev1.ObjectReference
	eventtype, reason, action, note string
	at                              time.Time
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Controller and Instance fill reportingController and
	// reportingInstance (for example "pylon-speaker" and the node name).
	Controller, Instance string
	// Component labels the dropped-events counter.
	Component string
	// Limiter is the process's budget for observable writes (nil: none).
	Limiter *rate.Limiter
	// MaxQueued bounds the backlog; <= 0 means DefaultMaxQueued.
	MaxQueued int
	// Clock defaults to the real clock.
	Clock clock.Clock
	// Logger receives write failures (nil: discarded).
	Logger *slog.Logger
	// Registerer, when set, gets the dropped-events counter.
	Registerer prometheus.Registerer
}

// Reasons an event is dropped, as labelled in pylon_events_dropped_total.
const (
	DropQueueFull   = "queue_full"
	DropWriteFailed = "write_failed"
	DropInvalid     = "invalid"
)

// NewRecorder builds a recorder writing through c; scheme names the kinds
// of the objects events are about. It starts nothing.
func NewRecorder(c kube.Writer, scheme *runtime.Scheme, o RecorderOptions) *Recorder {
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.Limiter == nil {
		o.Limiter = NewLimiter(0, 0)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{c: c, scheme: scheme, lim: o.Limiter, clock: o.Clock, log: o.Logger, max: o.MaxQueued,
		from: source{o.Controller, o.Instance}, wake: make(chan struct{}, 1), series: newSeriesBook(),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_events_dropped_total",
			Help: "Events not written: queue_full (too many waiting for the write budget, --events-status-qps), " +
				"write_failed (the API server refused them after retries), invalid (no kind known for the object).",
			ConstLabels: prometheus.Labels{"component": o.Component},
		}, []string{"reason"})}
	for _, reason := range []string{DropQueueFull, DropWriteFailed, DropInvalid} {
		r.dropped.WithLabelValues(reason)
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(r.dropped)
	}
	return r
}

// EventRecorder emits events; Recorder satisfies it, and so does
// client-go's events.EventRecorder interface, whose method it is.
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// Eventf queues an event; see client-go's events.EventRecorder.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	ev := pendingEvent{eventtype: eventtype, reason: reason, action: action, note: note, at: r.clock.Now()}
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		r.dropped.WithLabelValues(DropInvalid).Inc()
		r.log.Error("event about an object of unknown kind dropped", "reason", reason, "error", err)
		return
	}
	ev.regarding = *ref
	if related != nil {
		if ev.related, err = reference.GetReference(r.scheme, related); err != nil {
			ev.related = nil // the event still says what happened to regarding
		}
	}
	r.mu.Lock()
	if len(r.pending) >= r.max {
		r.mu.Unlock()
		r.dropped.WithLabelValues(DropQueueFull).Inc()
		return
	}
	r.pending = append(r.pending, ev)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Queued returns how many events wait for the budget.
func (r *Recorder) Queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Run writes queued events until ctx ends; what is still queued then is
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
		if err := r.deliver(ctx, ev); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.dropped.WithLabelValues(DropWriteFailed).Inc()
			r.log.Error("event not written", "regarding", ev.regarding.Namespace+"/"+ev.regarding.Name,
				"reason", ev.reason, "error", err)
		}
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
