package pace

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pylonlb/pylon/internal/testenv"

	"github.com/pylonlb/pylon/internal/kube/crwriter"
)

func service(name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}}
}

// rig is a recorder writing to a fake API through an optional interceptor,
// with a fake clock.
type rig struct {
	t       *testing.T
	c       client.Client
	clock   *clocktesting.FakeClock
	r       *Recorder
	creates atomic.Int32
	patches atomic.Int32 // successful ones
	cancel  context.CancelFunc
	done    chan error
}

func newRig(t *testing.T, lim *rate.Limiter, maxQueued int, reg prometheus.Registerer, f interceptor.Funcs) *rig {
	g := &rig{t: t, clock: clocktesting.NewFakeClock(time.Unix(1_000_000, 0))}
	create := f.Create
	f.Create = func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
		if create != nil {
			if err := create(ctx, c, obj, opts...); err != nil {
				return err
			}
		}
		g.creates.Add(1)
		return c.Create(ctx, obj, opts...)
	}
	f.Patch = func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		err := c.Patch(ctx, obj, patch, opts...)
		if err == nil {
			g.patches.Add(1)
		}
		return err
	}
	g.c = fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithInterceptorFuncs(f).Build()
	g.r = NewRecorder(crwriter.New(g.c), clientgoscheme.Scheme, RecorderOptions{Controller: "pylon-test", Instance: "pylon-test-node1",
		Component: "test", Limiter: lim, MaxQueued: maxQueued, Clock: g.clock, Registerer: reg})
	return g
}

func (g *rig) run() {
	ctx, cancel := context.WithCancel(g.t.Context())
	g.cancel, g.done = cancel, make(chan error, 1)
	go func() { g.done <- g.r.Run(ctx) }()
	g.t.Cleanup(g.stop)
}

func (g *rig) stop() {
	if g.cancel != nil {
		g.cancel()
		if err := <-g.done; err != nil {
			g.t.Error(err)
		}
		g.cancel = nil
	}
}

// waitFor polls cond until it holds (testenv.Eventually).
func (g *rig) waitFor(what string, cond func() bool) {
	g.t.Helper()
	testenv.Eventually(g.t, func() (bool, string) { return cond(), "timed out waiting for " + what })
}

func (g *rig) events() []eventsv1.Event {
	g.t.Helper()
	var list eventsv1.EventList
	if err := g.c.List(context.Background(), &list); err != nil {
		g.t.Fatal(err)
	}
	return list.Items
}

func (g *rig) dropped(reason string) float64 {
	return testutil.ToFloat64(g.r.dropped.WithLabelValues(reason))
}

func TestRecorderWritesInOrderWithReferences(t *testing.T) {
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{})
	for i := range 5 {
		g.r.Eventf(service(fmt.Sprint("svc", i)), nil, corev1.EventTypeNormal, "IPAllocated", "Allocate", "note %d", i)
		g.clock.Step(time.Millisecond)
	}
	g.run()
	g.waitFor("5 events", func() bool { return g.creates.Load() == 5 })
	evs := g.events()
	if len(evs) != 5 {
		t.Fatalf("%d events, want 5", len(evs))
	}
	for _, e := range evs {
		i := int(e.EventTime.Sub(time.Unix(1_000_000, 0)) / time.Millisecond)
		if e.Note != fmt.Sprintf("note %d", i) || e.Regarding.Kind != "Service" || e.Regarding.Name != fmt.Sprint("svc", i) ||
			e.Namespace != "ns" || e.Regarding.Namespace != "ns" || e.Reason != "IPAllocated" || e.Action != "Allocate" ||
			e.Type != corev1.EventTypeNormal || e.ReportingController != "pylon-test" || e.ReportingInstance != "pylon-test-node1" ||
			e.Series != nil || !strings.HasPrefix(e.Name, fmt.Sprint("svc", i, ".")) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
}

func TestRecorderHonoursBudget(t *testing.T) {
	// A burst of 2, then one token per hour: two events pass, three wait.
	g := newRig(t, rate.NewLimiter(rate.Every(time.Hour), 2), 0, nil, interceptor.Funcs{})
	for i := range 5 {
		g.r.Eventf(service("svc"), nil, corev1.EventTypeNormal, "R", "A", "note %d", i)
	}
	g.run()
	g.waitFor("2 events", func() bool { return g.creates.Load() == 2 })
	// One more is taken and waits for its token; the worker takes it when
	// it gets the CPU (a fixed sleep once saw 3 still queued).
	g.waitFor("2 queued", func() bool { return g.r.Queued() == 2 })
	time.Sleep(20 * time.Millisecond)
	if n := g.creates.Load(); n != 2 {
		t.Errorf("%d events written, want the burst of 2", n)
	}
	if q := g.r.Queued(); q != 2 {
		t.Errorf("%d queued, want 2", q)
	}
}

func TestRecorderDropsBeyondMaxAndCounts(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := newRig(t, NewLimiter(0, 0), 3, reg, interceptor.Funcs{})
	for range 5 {
		g.r.Eventf(service("svc"), nil, corev1.EventTypeNormal, "R", "A", "note")
	}
	if q := g.r.Queued(); q != 3 {
		t.Errorf("%d queued, want 3", q)
	}
	if got := g.dropped(DropQueueFull); got != 2 {
		t.Errorf("queue_full counter %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "pylon_events_dropped_total"); err != nil || n != 3 {
		t.Errorf("%d dropped series registered (%v), want one per reason", n, err)
	}
}

func TestRecorderJoinsRepeatsIntoASeries(t *testing.T) {
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{})
	g.run()
	emit := func(note string) {
		writes := g.creates.Load() + g.patches.Load()
		g.r.Eventf(service("web"), nil, corev1.EventTypeWarning, "AllocationFailed", "Allocate", "%s", note)
		g.waitFor("the write", func() bool { return g.creates.Load()+g.patches.Load() == writes+1 })
	}
	emit("pool full")
	g.clock.Step(time.Minute)
	emit("pool full")
	g.clock.Step(time.Minute)
	emit("pool full")
	emit("another reason") // differs: its own event
	evs := g.events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (a series of 3 and another)", len(evs))
	}
	for _, e := range evs {
		if e.Note == "pool full" && (e.Series == nil || e.Series.Count != 3 || !e.Series.LastObservedTime.Time.Equal(g.clock.Now())) {
			t.Errorf("series %+v, want count 3 last observed %v", e.Series, g.clock.Now())
		}
	}
	// After the window, the same event starts a new Event.
	g.clock.Step(SeriesWindow + time.Second)
	emit("pool full")
	if n := len(g.events()); n != 3 {
		t.Errorf("%d events, want a new third one after the window", n)
	}
}

func TestRecorderStartsOverWhenTheSeriesEventIsGone(t *testing.T) {
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{})
	g.run()
	g.r.Eventf(service("web"), nil, corev1.EventTypeNormal, "R", "A", "same")
	g.waitFor("first event", func() bool { return g.creates.Load() == 1 })
	for _, e := range g.events() {
		if err := g.c.Delete(context.Background(), &e); err != nil {
			t.Fatal(err)
		}
	}
	g.r.Eventf(service("web"), nil, corev1.EventTypeNormal, "R", "A", "same")
	g.waitFor("a new event", func() bool { return g.creates.Load() == 2 })
	if evs := g.events(); len(evs) != 1 || evs[0].Series != nil {
		t.Errorf("events %+v, want one new event without series", evs)
	}
}

func TestRecorderRetriesTransientFailures(t *testing.T) {
	var fails atomic.Int32
	fails.Store(2)
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			if fails.Add(-1) >= 0 {
				return apierrors.NewServiceUnavailable("etcd is away")
			}
			return nil
		}})
	g.run()
	g.r.Eventf(service("web"), nil, corev1.EventTypeNormal, "R", "A", "note")
	g.waitFor("the retried event", func() bool {
		if g.clock.HasWaiters() {
			g.clock.Step(10 * time.Second)
		}
		return g.creates.Load() == 1
	})
	if got := g.dropped(DropWriteFailed); got != 0 {
		t.Errorf("write_failed counter %v, want 0", got)
	}
}

func TestRecorderDropsWhatTheServerRefuses(t *testing.T) {
	var tries atomic.Int32
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			tries.Add(1)
			return apierrors.NewInvalid(schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, "x", nil)
		}})
	g.run()
	g.r.Eventf(service("web"), nil, corev1.EventTypeNormal, "R", "A", "refused")
	g.r.Eventf(service("web"), nil, corev1.EventTypeNormal, "R", "A", "refused too")
	g.waitFor("both dropped", func() bool { return g.dropped(DropWriteFailed) == 2 })
	if n := tries.Load(); n != 2 {
		t.Errorf("%d attempts, want one per event (no retry of an invalid event)", n)
	}
}

func TestRecorderDropsObjectsOfUnknownKind(t *testing.T) {
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{})
	g.r.Eventf(&unknown{}, nil, corev1.EventTypeNormal, "R", "A", "note")
	if q, got := g.r.Queued(), g.dropped(DropInvalid); q != 0 || got != 1 {
		t.Errorf("queued %d, invalid counter %v; want 0 and 1", q, got)
	}
}

// unknown is an object no scheme knows.
type unknown struct{ corev1.Service }

func TestRecorderNamesEventsUniquelyAndPlacesClusterObjects(t *testing.T) {
	g := newRig(t, NewLimiter(0, 0), 0, nil, interceptor.Funcs{})
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}
	for i := range 3 { // same instant, different notes
		g.r.Eventf(node, nil, corev1.EventTypeNormal, "R", "A", "note %d", i)
	}
	g.run()
	g.waitFor("3 events", func() bool { return g.creates.Load() == 3 })
	for _, e := range g.events() {
		if e.Namespace != metav1.NamespaceDefault || e.Regarding.Kind != "Node" {
			t.Errorf("event %s/%s about %s: want namespace default, kind Node", e.Namespace, e.Name, e.Regarding.Kind)
		}
	}
}

func TestTruncateKeepsCharactersWhole(t *testing.T) {
	long := strings.Repeat("€", 400) // 3 bytes each: 1,200 bytes
	got := truncate(long, noteLimit)
	if !utf8.ValidString(got) || len(got) != 1023 {
		t.Errorf("truncated to %d bytes (valid UTF-8: %v), want 1023 (341 whole characters)", len(got), utf8.ValidString(got))
	}
	if truncate("short", noteLimit) != "short" {
		t.Error("short note changed")
	}
}

func TestSeriesBookIsBounded(t *testing.T) {
	b := newSeriesBook()
	now := time.Unix(0, 0)
	for i := range maxSeries + 10 {
		b.add(uint64(i), "ns", fmt.Sprint("e", i), now)
	}
	if len(b.entries) != maxSeries {
		t.Fatalf("%d series, want the bound %d", len(b.entries), maxSeries)
	}
	// Once they ended, room is made again.
	later := now.Add(SeriesWindow + time.Second)
	b.add(1<<40, "ns", "late", later)
	if len(b.entries) != 1 || b.find(1<<40, later) == nil {
		t.Errorf("%d series after the window, want only the new one", len(b.entries))
	}
}

func TestNewLimiterZeroIsUnlimited(t *testing.T) {
	l := NewLimiter(0, 0)
	for range 1000 {
		if !l.Allow() {
			t.Fatal("a zero-QPS limiter refused a write; want no limit")
		}
	}
	if l := NewLimiter(5, 0); l.Burst() != 1 {
		t.Errorf("burst %d, want at least 1", l.Burst())
	}
}
