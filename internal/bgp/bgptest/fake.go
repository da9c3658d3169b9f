// Package bgptest provides Fake, an in-memory bgp.Speaker for tests of the
// code that drives the BGP speaker.
package bgptest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"sync"

	"github.com/pylonlb/pylon/internal/bgp"
)

var _ bgp.Speaker = (*Fake)(nil)

// Fake records the desired configuration like bgp.Server does (same keys,
// same validation of peers) and lets the test drive session states. It is
// safe for concurrent use. Sessions start Idle unless AutoEstablish is set.
type Fake struct {
	// AutoEstablish makes new sessions Established at once (BFD Up when
	// configured). Set it before the first SetPeers.
	AutoEstablish bool

	mu      sync.Mutex
	peers   map[string]bgp.PeerConfig
	paths   map[netip.Prefix]bgp.Path
	states  map[string]bgp.SessionState
	fail    error
	calls   int
	changed chan struct{}
}

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{
		peers:   map[string]bgp.PeerConfig{},
		paths:   map[netip.Prefix]bgp.Path{},
		states:  map[string]bgp.SessionState{},
		changed: make(chan struct{}, 1),
	}
}

// FailNext makes the next SetPeers or SetPaths return err
// without applying anything.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// Calls returns how many SetPeers and SetPaths calls were made.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// begin counts a mutating call and consumes an injected failure.
func (f *Fake) begin(ctx context.Context) error {
	f.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	err := f.fail
	f.fail = nil
	return err
}

// SetPeers implements bgp.Speaker. Invalid peers are left out and reported,
// as bgp.Server does.
func (f *Fake) SetPeers(ctx context.Context, peers []bgp.PeerConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	var errs []error
	next := make(map[string]bgp.PeerConfig, len(peers))
	addrs := map[netip.Addr]bool{}
	for _, p := range peers {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := next[p.Name]; dup || addrs[p.Address] {
			errs = append(errs, fmt.Errorf("%w: peer %q: duplicate name or address", bgp.ErrInvalidConfig, p.Name))
			continue
		}
		next[p.Name], addrs[p.Address] = p, true
	}
	f.peers = next
	for name := range f.states {
		if _, ok := next[name]; !ok {
			delete(f.states, name)
		}
	}
	for name, p := range next {
		if _, ok := f.states[name]; !ok {
			f.states[name] = f.initialState(p)
		}
	}
	f.signal()
	return errors.Join(errs...)
}

func (f *Fake) initialState(p bgp.PeerConfig) bgp.SessionState {
	st := bgp.SessionState{Name: p.Name, Address: p.Address, Interface: p.Interface, State: bgp.StateIdle, PeerASN: p.PeerASN}
	if p.BFD != nil {
		st.BFD = bgp.BFDDown
	}
	if f.AutoEstablish {
		st.State = bgp.StateEstablished
		if p.BFD != nil {
			st.BFD = bgp.BFDUp
		}
	}
	return st
}

// SetPaths implements bgp.Speaker: it replaces the paths and counts the
// prefixes whose path is new, changed or gone.
func (f *Fake) SetPaths(ctx context.Context, paths []bgp.Path) (bgp.PathChanges, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ch bgp.PathChanges
	if err := f.begin(ctx); err != nil {
		return ch, err
	}
	next := make(map[netip.Prefix]bgp.Path, len(paths))
	var errs []error
	for _, p := range paths {
		if !p.Prefix.IsValid() {
			errs = append(errs, fmt.Errorf("%w: prefix %q is not valid", bgp.ErrInvalidConfig, p.Prefix))
			continue
		}
		p.Prefix = p.Prefix.Masked()
		p.Peers = slices.Clone(p.Peers)
		p.Communities = slices.Clone(p.Communities)
		p.LargeCommunities = slices.Clone(p.LargeCommunities)
		next[p.Prefix] = p
		if old, had := f.paths[p.Prefix]; !had || !reflect.DeepEqual(old, p) {
			ch.Announced++
		}
	}
	for prefix := range f.paths {
		if _, keep := next[prefix]; !keep {
			ch.Withdrawn++
		}
	}
	f.paths = next
	return ch, errors.Join(errs...)
}

// Sessions implements bgp.Speaker; PrefixesSent follows Path.AnnouncedTo.
func (f *Fake) Sessions() []bgp.SessionState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]bgp.SessionState, 0, len(f.states))
	for _, name := range slices.Sorted(maps.Keys(f.states)) {
		st := f.states[name]
		st.PrefixesSent = 0
		if st.State == bgp.StateEstablished {
			for _, p := range f.paths {
				if p.AnnouncedTo(f.peers[name]) {
					st.PrefixesSent++
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// Changed implements bgp.Speaker.
func (f *Fake) Changed() <-chan struct{} { return f.changed }

// SetState sets the BGP and BFD state of the named session and signals
// Changed. It reports false if there is no such session.
func (f *Fake) SetState(name string, state bgp.State, bfd bgp.BFDState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.states[name]
	if !ok {
		return false
	}
	st.State, st.BFD = state, bfd
	f.states[name] = st
	f.signal()
	return true
}

// Peers returns the configured sessions sorted by name.
func (f *Fake) Peers() []bgp.PeerConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]bgp.PeerConfig, 0, len(f.peers))
	for _, name := range slices.Sorted(maps.Keys(f.peers)) {
		out = append(out, f.peers[name])
	}
	return out
}

// Paths returns the announced paths sorted by prefix.
func (f *Fake) Paths() []bgp.Path {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Collect(maps.Values(f.paths))
	slices.SortFunc(out, func(a, b bgp.Path) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out
}

func (f *Fake) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}
