package pace

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// SeriesWindow is how long after its last occurrence a repeated event
	// still joins the series of the first (the API server's own choice).
	SeriesWindow = 6 * time.Minute
	// maxSeries bounds the open series remembered; beyond it repeats are
	// written as new events.
	maxSeries = 4096
	// writeTries is how often an event is tried when the API server fails
	// in a way that may pass; retries wait 0.5 s, 1 s, 2 s, 4 s.
	writeTries = 5
	// noteLimit is the longest note the API server accepts.
	noteLimit = 1024
)

// deliver writes one event, retrying transient failures; each attempt
// takes a token from the budget.
func (r *Recorder) deliver(ctx context.Context, ev pendingEvent) error {
	key := r.series.key(ev)
	wait := 500 * time.Millisecond
	for try := 1; ; try++ {
		if err := r.lim.Wait(ctx); err != nil {
			return err
		}
		err := r.write(ctx, ev, key)
		if err == nil || permanent(err) || try == writeTries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.clock.After(wait):
		}
		wait *= 2
	}
}

// write adds ev to its open series, or creates a new Event.
func (r *Recorder) write(ctx context.Context, ev pendingEvent, key uint64) error {
	now := r.clock.Now()
	if s := r.series.find(key, now); s != nil {
		patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{
			Count: s.count + 1, LastObservedTime: metav1.NewMicroTime(now)}})
		if err != nil {
			return err
		}
		e := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
		err = r.c.MergePatch(ctx, e, patch)
		if err == nil {
			s.count++
			s.last = now
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		r.series.forget(key) // the first was deleted (or expired): start over
	}
	e := r.event(ev)
	if err := r.c.Create(ctx, e); err != nil {
		return err
	}
	r.series.add(key, e.Namespace, e.Name, now)
	return nil
}

// event builds the Event for ev, named after the object it regards and a
// timestamp unique within this recorder.
func (r *Recorder) event(ev pendingEvent) *eventsv1.Event {
	stamp := max(ev.at.UnixNano(), r.lastName+1)
	r.lastName = stamp
	ns := ev.regarding.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", ev.regarding.Name, stamp)},
		EventTime:           metav1.NewMicroTime(ev.at),
		ReportingController: r.from.controller,
		ReportingInstance:   r.from.instance,
		Action:              ev.action,
		Reason:              ev.reason,
		Regarding:           ev.regarding,
		Related:             ev.related,
		Note:                truncate(ev.note, noteLimit),
		Type:                ev.eventtype,
	}
}

// permanent tells failures that a retry cannot mend.
func permanent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) ||
		apierrors.IsBadRequest(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) ||
		apierrors.IsUnauthorized(err)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// seriesBook remembers, for recently written events, which Event a repeat
// joins. Keys are hashes of everything that makes two events the same, so
// an open series costs a few words, not a copy of the event.
type seriesBook struct {
	seed      maphash.Seed
	entries   map[uint64]*seriesEntry
	lastSweep time.Time
}

// seriesEntry is one open series.
type seriesEntry struct {
	namespace, name string
	count           int32
	last            time.Time
}

func newSeriesBook() *seriesBook {
	return &seriesBook{seed: maphash.MakeSeed(), entries: map[uint64]*seriesEntry{}}
}

// key hashes what makes two events repeats of each other.
func (b *seriesBook) key(ev pendingEvent) uint64 {
	var h maphash.Hash
	h.SetSeed(b.seed)
	ref := func(o *corev1.ObjectReference) {
		if o == nil {
			h.WriteByte(0)
			return
		}
		for _, s := range []string{o.APIVersion, o.Kind, o.Namespace, o.Name, string(o.UID)} {
			h.WriteString(s)
			h.WriteByte(0)
		}
	}
	ref(&ev.regarding)
	ref(ev.related)
	for _, s := range []string{ev.eventtype, ev.reason, ev.action, ev.note} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// find returns the open series for key, or nil when there is none or it
// ended more than SeriesWindow before now.
func (b *seriesBook) find(key uint64, now time.Time) *seriesEntry {
	s := b.entries[key]
	if s != nil && now.Sub(s.last) > SeriesWindow {
		delete(b.entries, key)
		return nil
	}
	return s
}

// add opens a series for the Event just created. When the book is full
// it forgets the series that ended (at most once a second) and, if none
// did, leaves this one out: its repeats become new Events.
func (b *seriesBook) add(key uint64, namespace, name string, now time.Time) {
	if len(b.entries) >= maxSeries && now.Sub(b.lastSweep) >= time.Second {
		b.lastSweep = now
		for k, s := range b.entries {
			if now.Sub(s.last) > SeriesWindow {
				delete(b.entries, k)
			}
		}
	}
	if len(b.entries) >= maxSeries {
		return
	}
	b.entries[key] = &seriesEntry{namespace: namespace, name: name, count: 1, last: now}
}

func (b *seriesBook) forget(key uint64) { delete(b.entries, key) }
