package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/config/oc"
	"github.com/osrg/gobgp/v4/pkg/server"
)

var _ Speaker = (*Server)(nil)

// Config configures a Server.
type Config struct {
	// RouterID is the BGP identifier of every session; it must be IPv4.
	RouterID netip.Addr
	// ASN is gobgp's global ASN. Sessions use PeerConfig.MyASN; this only
	// has to be non-zero. 0 means 64512.
	ASN uint32
	// ListenPort is the TCP port to accept sessions on. 0 or -1 means never
	// listen: every session is dialled by us, which needs no privilege.
	ListenPort int32
	// StatePollInterval is how often session and BFD states are read from
	// gobgp besides its peer events while a session is not settled (not
	// Established, or its BFD not Up): gobgp emits no BFD events, and it
	// emits the Established event before ListPeer reports it. 0 means 200 ms.
	StatePollInterval time.Duration
	// SettledPollInterval is the same once every session is settled; a
	// session that drops still raises a peer event at once. 0 means 1 s.
	SettledPollInterval time.Duration
	// Logger receives our logs and gobgp's (its Info demoted to Debug).
	// nil discards them.
	Logger *slog.Logger
	// Links finds the routers of unnumbered sessions and solicits them.
	// nil means KernelLinks.
	Links Links
}

// Server runs an embedded gobgp speaker. Build it with New, run it with Run;
// the Speaker methods may be called before Run (they wait for it).
type Server struct {
	cfg     Config
	log     *slog.Logger
	reqs    chan request
	changed chan struct{}
	done    chan struct{}
	started atomic.Bool
	view    atomic.Pointer[[]SessionState]
}

// request is one call handed to the loop; fn runs on the loop goroutine.
type request struct {
	ctx  context.Context
	fn   func(ctx context.Context, st *loopState) error
	errc chan error
}

// New validates cfg and builds a Server. It starts nothing.
func New(cfg Config) (*Server, error) {
	if !cfg.RouterID.IsValid() || !cfg.RouterID.Is4() || cfg.RouterID.IsUnspecified() {
		return nil, invalid("router ID %q must be a non-zero IPv4 address", cfg.RouterID)
	}
	if cfg.ListenPort < -1 {
		return nil, invalid("listen port %d", cfg.ListenPort)
	}
	if cfg.ListenPort == 0 {
		cfg.ListenPort = -1
	}
	if cfg.ASN == 0 {
		cfg.ASN = 64512
	}
	if cfg.StatePollInterval <= 0 {
		cfg.StatePollInterval = 200 * time.Millisecond
	}
	if cfg.SettledPollInterval <= 0 {
		cfg.SettledPollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Links == nil {
		cfg.Links = KernelLinks{}
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		reqs:    make(chan request),
		changed: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	s.view.Store(&[]SessionState{})
	return s, nil
}

// Changed implements Speaker.
func (s *Server) Changed() <-chan struct{} { return s.changed }

// Sessions implements Speaker. The slice is a copy the caller may keep.
func (s *Server) Sessions() []SessionState {
	v := *s.view.Load()
	out := make([]SessionState, len(v))
	copy(out, v)
	return out
}

// SetPeers implements Speaker. Invalid entries are reported in the error
// (wrapping ErrInvalidConfig) and left out; the valid ones are applied.
func (s *Server) SetPeers(ctx context.Context, peers []PeerConfig) error {
	desired, verr := normalizePeers(peers, s.cfg.RouterID)
	err := s.do(ctx, func(ctx context.Context, st *loopState) error {
		return st.setPeers(ctx, desired)
	})
	return errors.Join(verr, err)
}

// SetPaths implements Speaker.
func (s *Server) SetPaths(ctx context.Context, paths []Path) (PathChanges, error) {
	desired := make(map[netip.Prefix]Path, len(paths))
	var errs []error
	for _, p := range paths {
		np, err := normalizePath(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := desired[np.Prefix]; dup {
			errs = append(errs, invalid("two paths for prefix %s", np.Prefix))
			continue
		}
		desired[np.Prefix] = np
	}
	var changes PathChanges
	err := s.do(ctx, func(ctx context.Context, st *loopState) error {
		var err error
		changes, err = st.setPaths(ctx, desired)
		return err
	})
	return changes, errors.Join(append(errs, err)...)
}

// SetPath announces one path, replacing any previous path for its prefix
// (an edit of the same table SetPaths sets whole).
func (s *Server) SetPath(ctx context.Context, p Path) error {
	np, err := normalizePath(p)
	if err != nil {
		return err
	}
	return s.do(ctx, func(ctx context.Context, st *loopState) error {
		return st.setPath(ctx, np)
	})
}

// DeletePath withdraws one prefix; deleting an unknown prefix is not an
// error.
func (s *Server) DeletePath(ctx context.Context, prefix netip.Prefix) error {
	if !prefix.IsValid() {
		return invalid("prefix %q is not valid", prefix)
	}
	return s.do(ctx, func(ctx context.Context, st *loopState) error {
		return st.deletePath(ctx, prefix.Masked())
	})
}

// do hands fn to the loop and waits for its result.
func (s *Server) do(ctx context.Context, fn func(context.Context, *loopState) error) error {
	r := request{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
	return <-r.errc
}

func (s *Server) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Run starts gobgp and serves until ctx ends, then stops gobgp: sessions with
// graceful restart are closed without a NOTIFICATION, so their routers keep
// our routes while we restart. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("bgp: Run called twice")
	}
	defer close(s.done)
	gl, mute := newGobgpLogger(s.log)
	bs := server.NewBgpServer(server.LoggerOption(gl, nil))
	served := make(chan struct{})
	go func() {
		defer close(served)
		bs.Serve()
	}()
	defer func() {
		mute.Store(true)
		<-served
		bs.Stop()
	}()
	if err := s.start(ctx, bs); err != nil {
		_ = bs.StopBgp(context.Background(), &api.StopBgpRequest{})
		return err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan struct{}, 1)
	err := bs.WatchEvent(watchCtx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: func(*apiutil.WatchEventMessage_PeerEvent, time.Time) { poke(events) },
	}, server.WatchPeer())
	if err != nil {
		_ = bs.StopBgp(context.Background(), &api.StopBgpRequest{})
		return fmt.Errorf("watch gobgp peer events: %w", err)
	}
	s.loop(ctx, newLoopState(s, bs), events)
	if err := bs.StopBgp(context.Background(), &api.StopBgpRequest{AllowGracefulRestart: true}); err != nil {
		return fmt.Errorf("stop gobgp: %w", err)
	}
	return nil
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *Server) start(ctx context.Context, bs *server.BgpServer) error {
	// Only the unicast families get tables: gobgp otherwise builds one
	// (2,048-shard) table per known family, ~15 MiB of heap.
	families := []uint32{
		uint32(oc.AfiSafiTypeToIntMap[oc.AFI_SAFI_TYPE_IPV4_UNICAST]),
		uint32(oc.AfiSafiTypeToIntMap[oc.AFI_SAFI_TYPE_IPV6_UNICAST]),
	}
	err := bs.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        s.cfg.ASN,
		RouterId:   s.cfg.RouterID.String(),
		ListenPort: s.cfg.ListenPort,
		Families:   families,
	}})
	if err != nil {
		return fmt.Errorf("start gobgp: %w", err)
	}
	if err := importNothing(ctx, bs); err != nil {
		return err
	}
	return setExportPolicies(ctx, bs, nil)
}

// resetDelay is how long target changes are collected before the sessions
// they affect are soft-reset (see loopState.flushResets).
const resetDelay = 50 * time.Millisecond

// loop is the only goroutine touching st.
func (s *Server) loop(ctx context.Context, st *loopState, events <-chan struct{}) {
	tick := time.NewTicker(s.cfg.StatePollInterval)
	defer tick.Stop()
	settled := false
	pull := func() {
		st.pull(ctx)
		if now := st.settled(); now != settled {
			settled = now
			interval := s.cfg.StatePollInterval
			if settled {
				interval = s.cfg.SettledPollInterval
			}
			tick.Reset(interval)
		}
	}
	flush := time.NewTimer(resetDelay)
	flush.Stop()
	flushArmed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			flushArmed = false
			st.flushResets(ctx)
		case r := <-s.reqs:
			r.errc <- r.fn(r.ctx, st)
			st.publish()
			if len(st.resetDue) > 0 && !flushArmed {
				flush.Reset(resetDelay)
				flushArmed = true
			}
		case <-events:
			pull()
		case <-tick.C:
			if len(st.peers)+len(st.waiting) > 0 {
				pull()
			}
		}
	}
}
