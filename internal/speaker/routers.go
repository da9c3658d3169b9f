package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// errRoutersStopped is returned when the supervisor is no longer running.
var errRoutersStopped = errors.New("BGP router supervisor stopped")

// routerSupervisor owns the BGP router's lifecycle: it builds one for a
// router ID when first asked, runs it, and replaces it when asked for
// another ID. Run stops the current router when its context ends, and
// returns the error of a router that stops by itself. The reconciler only
// asks (Ensure); it never starts or waits for goroutines.
type routerSupervisor struct {
	newRouter func(routerID netip.Addr) (Router, error)
	reqs      chan routerRequest
	done      chan struct{} // closed when Run returns
}

// runningRouter is a router the supervisor runs, with the context its
// calls should use (cancelled when it is replaced or stopped).
type runningRouter struct {
	Router
	id     netip.Addr
	ctx    context.Context
	cancel context.CancelFunc
	exited chan error // receives Run's result
}

// routerRequest asks for a router with one ID.
type routerRequest struct {
	id    netip.Addr
	reply chan routerReply
}

type routerReply struct {
	r   *runningRouter
	err error
}

// newRouterSupervisor builds a supervisor; Run starts it.
func newRouterSupervisor(newRouter func(netip.Addr) (Router, error)) *routerSupervisor {
	return &routerSupervisor{newRouter: newRouter, reqs: make(chan routerRequest), done: make(chan struct{})}
}

// Ensure returns the running router with this ID, starting it (and
// stopping one with another ID) if needed.
func (s *routerSupervisor) Ensure(id netip.Addr) (*runningRouter, error) {
	req := routerRequest{id: id, reply: make(chan routerReply, 1)}
	select {
	case s.reqs <- req:
	case <-s.done:
		return nil, errRoutersStopped
	}
	rep := <-req.reply
	return rep.r, rep.err
}

// Run serves Ensure until ctx ends, then stops the current router and
// waits for it.
func (s *routerSupervisor) Run(ctx context.Context) error {
	defer close(s.done)
	var cur *runningRouter
	defer func() { cur.stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-cur.exitedC():
			cur.cancel()
			cur = nil
			if ctx.Err() != nil {
				// The router ended because ctx did; select picked this
				// case over ctx.Done() at random: not a failure.
				return nil
			}
			if err == nil {
				err = errors.New("returned")
			}
			return fmt.Errorf("BGP speaker stopped: %w", err)
		case req := <-s.reqs:
			if cur != nil && cur.id == req.id {
				req.reply <- routerReply{r: cur}
				continue
			}
			cur.stop()
			cur = nil
			r, err := s.newRouter(req.id)
			if err != nil {
				req.reply <- routerReply{err: fmt.Errorf("build BGP speaker with router ID %s: %w", req.id, err)}
				continue
			}
			cur = start(ctx, r, req.id)
			req.reply <- routerReply{r: cur}
		}
	}
}

// start runs r in a goroutine under a context of its own.
func start(ctx context.Context, r Router, id netip.Addr) *runningRouter {
	rctx, cancel := context.WithCancel(ctx)
	rr := &runningRouter{Router: r, id: id, ctx: rctx, cancel: cancel, exited: make(chan error, 1)}
	go func() { rr.exited <- r.Run(rctx) }()
	return rr
}

// exitedC delivers the router's Run result (nil channel for no router).
func (r *runningRouter) exitedC() <-chan error {
	if r == nil {
		return nil
	}
	return r.exited
}

// stop cancels the router and waits for its Run to return (no-op for no
// router).
func (r *runningRouter) stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.exited
}
