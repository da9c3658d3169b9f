package speaker

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/pylonlb/pylon/internal/bgp/bgptest"
)

// testRouter records its lifecycle; fail makes Run return an error.
type testRouter struct {
	*bgptest.Fake
	id      netip.Addr
	fail    chan error
	stopped chan struct{}
}

func (r *testRouter) Run(ctx context.Context) error {
	defer close(r.stopped)
	select {
	case <-ctx.Done():
		return nil
	case err := <-r.fail:
		return err
	}
}

func TestRouterSupervisorLifecycle(t *testing.T) {
	var mu sync.Mutex
	var built []*testRouter
	sup := newRouterSupervisor(func(id netip.Addr) (Router, error) {
		if !id.Is4() {
			return nil, errors.New("bad id")
		}
		r := &testRouter{Fake: bgptest.NewFake(), id: id, fail: make(chan error, 1), stopped: make(chan struct{})}
		mu.Lock()
		built = append(built, r)
		mu.Unlock()
		return r, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()

	id1, id2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	r1, err := sup.Ensure(id1)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := sup.Ensure(id1); again != r1 {
		t.Error("the same router ID started another router")
	}
	if _, err := sup.Ensure(netip.MustParseAddr("fd00::1")); err == nil {
		t.Error("a router that cannot be built gave no error")
	}
	<-built[0].stopped // asking for another ID stopped the first router
	r2, err := sup.Ensure(id2)
	if err != nil || r2 == r1 || r2.id != id2 {
		t.Fatalf("Ensure(%s) = %v, %v; want a new router", id2, r2, err)
	}
	if r1.ctx.Err() == nil {
		t.Error("the replaced router's context is still live")
	}
	built[1].fail <- errors.New("boom")
	if err := <-done; err == nil {
		t.Fatal("a failing router did not stop the supervisor")
	}
	if _, err := sup.Ensure(id1); !errors.Is(err, errRoutersStopped) {
		t.Errorf("Ensure after Run returned: %v, want errRoutersStopped", err)
	}
	cancel()

	// A supervisor whose context ends stops its router.
	sup = newRouterSupervisor(func(id netip.Addr) (Router, error) {
		r := &testRouter{Fake: bgptest.NewFake(), id: id, fail: make(chan error), stopped: make(chan struct{})}
		mu.Lock()
		built = append(built, r)
		mu.Unlock()
		return r, nil
	})
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- sup.Run(ctx) }()
	if _, err := sup.Ensure(id1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
	<-built[len(built)-1].stopped
}
