package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestBulkRatePaces checks that a paced Bulk never starts the i-th create
// before i/Rate (a lower bound only: a slow machine may start later).
func TestBulkRatePaces(t *testing.T) {
	c := fake.NewClientset()
	var mu sync.Mutex
	var at []time.Time
	c.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		return false, nil, nil
	})
	b := Bulk{Namespace: "ns", Names: []string{"a", "b", "c", "d", "e"}, Rate: 100}
	start, _, err := b.Create(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(at) != len(b.Names) {
		t.Fatalf("%d creates, want %d", len(at), len(b.Names))
	}
	latest := at[0]
	for _, a := range at {
		if a.After(latest) {
			latest = a
		}
	}
	// Creates run on 4 clients, so only the last start is ordered: it
	// came after the fifth slot, 4/Rate after the first.
	if least := 40 * time.Millisecond; latest.Sub(start) < least {
		t.Errorf("last create %v after the first slot, want ≥ %v at %v/s", latest.Sub(start), least, b.Rate)
	}
}
