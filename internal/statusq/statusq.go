// Package statusq writes status objects (ServiceL2Status, ServiceBGPStatus,
// ConfigurationState) in the background. Callers Put the desired object
// (or Delete it) and return at once: the state-owning loop of a speaker or
// controller never waits for the API server. Puts for one key coalesce
// (the newest wins), writes to one key are spaced by a minimum interval,
// failed writes are retried with backoff, and every write first takes a
// token from the process's budget for observable writes (package pace).
//
// Objects are written with server-side apply, so a Put of an unchanged
// object changes nothing on the server, and a Put creates or updates alike.
package statusq

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/kube"
)

// Queue writes desired objects with one worker.
type Queue struct {
	c      kube.Writer
	owner  string
	anchor *anchor.Resolver // nil: objects keep the owners they have
	log    *slog.Logger
	clock  clock.PassiveClock
	pace   *rate.Limiter
	wq     workqueue.TypedRateLimitingInterface[string]

	mu        sync.Mutex
	desired   map[string]item
	lastWrite map[string]time.Time
}

// item is what a key should become.
type item struct {
	obj         kube.Object
	delete      bool
	minInterval time.Duration
}

// New builds a queue writing as field manager owner, each write waiting
// for a token from pace (nil: no limit). It starts nothing.
func New(c kube.Writer, owner string, log *slog.Logger, clk clock.PassiveClock, pace *rate.Limiter) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	if pace == nil {
		pace = rate.NewLimiter(rate.Inf, 0) // what pace.NewLimiter(0, 0) returns
	}
	return &Queue{c: c, owner: owner, log: log, clock: clk, pace: pace,
		wq: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "status-" + owner}),
		desired: map[string]item{}, lastWrite: map[string]time.Time{}}
}

// Anchor makes every object written without owner references owned by
// the installation's anchor (package anchor). Call it before Run.
func (q *Queue) Anchor(r *anchor.Resolver) { q.anchor = r }

// Put asks for obj (a complete object with its kind set) to exist as
// given, written no more often than every minInterval.
func (q *Queue) Put(obj kube.Object, minInterval time.Duration) {
	q.set(item{obj: obj, minInterval: minInterval})
}

// Delete asks for obj (name and namespace suffice) to be removed.
func (q *Queue) Delete(obj kube.Object) {
	q.set(item{obj: obj, delete: true})
}

// set records the newest desire for a key and queues it.
func (q *Queue) set(it item) {
	key := keyOf(it.obj)
	q.mu.Lock()
	q.desired[key] = it
	q.mu.Unlock()
	q.wq.Add(key)
}

// keyOf identifies an object by kind, namespace and name.
func keyOf(o kube.Object) string {
	return fmt.Sprintf("%T/%s/%s", o, o.GetNamespace(), o.GetName())
}

// Run writes until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		q.wq.ShutDown()
	}()
	for q.next(ctx) {
	}
	return nil
}

// next processes one key; false once the queue is shut down.
func (q *Queue) next(ctx context.Context) bool {
	key, quit := q.wq.Get()
	if quit {
		return false
	}
	defer q.wq.Done(key)
	it, ok := q.lookup(key)
	if !ok {
		return true
	}
	if wait := q.spacing(key, it); wait > 0 {
		q.wq.AddAfter(key, wait)
		return true
	}
	if err := q.pace.Wait(ctx); err != nil {
		return true // ctx ended; the queue is shutting down
	}
	// Take the newest desire: more may have arrived while waiting.
	if it, ok = q.lookup(key); !ok {
		return true
	}
	if err := q.write(ctx, it); err != nil {
		q.log.Warn("write status; will retry", "object", key, "error", err)
		q.wq.AddRateLimited(key)
		return true
	}
	q.wq.Forget(key)
	q.mu.Lock()
	if cur, ok := q.desired[key]; ok && cur.obj == it.obj && cur.delete == it.delete {
		delete(q.desired, key) // nothing newer arrived meanwhile
	}
	if it.delete {
		delete(q.lastWrite, key) // deletes never wait: forget the object
	} else {
		q.lastWrite[key] = q.clock.Now()
	}
	q.mu.Unlock()
	return true
}

// lookup returns what key should become, if anything.
func (q *Queue) lookup(key string) (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.desired[key]
	return it, ok
}

// spacing returns how long a write of it to key must still wait for its
// minimum interval since the last write; deletes never wait.
func (q *Queue) spacing(key string, it item) time.Duration {
	if it.delete {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	last, seen := q.lastWrite[key]
	if !seen {
		return 0
	}
	return it.minInterval - q.clock.Since(last)
}

// write applies or deletes one object.
func (q *Queue) write(ctx context.Context, it item) error {
	if it.delete {
		if err := q.c.Delete(ctx, it.obj); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	obj := it.obj.DeepCopyObject().(kube.Object)
	obj.SetResourceVersion("")
	obj.SetManagedFields(nil)
	if err := q.anchor.Own(ctx, obj); err != nil {
		return err
	}
	return q.c.Apply(ctx, obj, q.owner)
}
