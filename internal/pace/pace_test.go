package pace

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// sink records what reaches the inner recorder.
type sink struct {
	mu    sync.Mutex
	notes []string
	refs  []runtime.Object
}

func (s *sink) Eventf(regarding, _ runtime.Object, _, _, _, note string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, fmt.Sprintf(note, args...))
	s.refs = append(s.refs, regarding)
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notes)
}

func service(name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
}

func TestRecorderDeliversInOrderAsReferences(t *testing.T) {
	s := &sink{}
	r := NewRecorder(s, clientgoscheme.Scheme, NewLimiter(0, 0), 0, "test", nil)
	for i := range 5 {
		r.Eventf(service(fmt.Sprint("svc", i)), nil, corev1.EventTypeNormal, "R", "A", "note %d", i)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for s.len() < 5 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, n := range s.notes {
		if want := fmt.Sprintf("note %d", i); n != want {
			t.Errorf("event %d: note %q, want %q", i, n, want)
		}
		ref, ok := s.refs[i].(*corev1.ObjectReference)
		if !ok || ref.Kind != "Service" || ref.Name != fmt.Sprint("svc", i) || ref.Namespace != "ns" {
			t.Errorf("event %d: regarding %#v, want a reference to Service ns/svc%d", i, s.refs[i], i)
		}
	}
}

func TestRecorderHonoursBudget(t *testing.T) {
	s := &sink{}
	// A burst of 2, then one token per hour: two events pass, three wait.
	r := NewRecorder(s, clientgoscheme.Scheme, rate.NewLimiter(rate.Every(time.Hour), 2), 0, "test", nil)
	for i := range 5 {
		r.Eventf(service("svc"), nil, corev1.EventTypeNormal, "R", "A", "note %d", i)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for s.len() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if n := s.len(); n != 2 {
		t.Errorf("%d events delivered, want the burst of 2", n)
	}
	if q := r.Queued(); q != 2 { // one more is taken and waits for its token
		t.Errorf("%d queued, want 2", q)
	}
	cancel()
	<-done
}

func TestRecorderDropsBeyondMaxAndCounts(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := NewRecorder(&sink{}, clientgoscheme.Scheme, NewLimiter(0, 0), 3, "test", reg)
	for range 5 {
		r.Eventf(service("svc"), nil, corev1.EventTypeNormal, "R", "A", "note")
	}
	if q := r.Queued(); q != 3 {
		t.Errorf("%d queued, want 3", q)
	}
	if got := testutil.ToFloat64(r.dropped); got != 2 {
		t.Errorf("dropped counter %v, want 2", got)
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
