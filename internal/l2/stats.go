package l2

import (
	"maps"
	"sync"
	"sync/atomic"
)

// InterfaceStats are the counters of one interface since the Announcer was
// created. They are monotonic (suitable for Prometheus counters) and survive
// the interface going away and coming back.
type InterfaceStats struct {
	// ARPAnswered counts ARP requests answered.
	ARPAnswered uint64
	// NDPAnswered counts Neighbor Solicitations answered.
	NDPAnswered uint64
	// ARPGratuitous counts gratuitous ARP announcements (one per IP and
	// send, covering both frame forms).
	ARPGratuitous uint64
	// NDPUnsolicited counts unsolicited Neighbor Advertisements sent.
	NDPUnsolicited uint64
	// ForeignSightings counts frames in which another host claimed an IP
	// we announce or watch.
	ForeignSightings uint64
	// SendErrors counts frames that could not be sent.
	SendErrors uint64
}

// Stats is a snapshot of the Announcer's counters. It is keyed by interface
// name, never by IP, to keep metric cardinality bounded.
type Stats struct {
	// Interfaces holds the counters of every interface ever used.
	Interfaces map[string]InterfaceStats
	// ForeignDropped counts sightings dropped because nobody read the
	// Foreign channel fast enough.
	ForeignDropped uint64
}

// counters are one interface's live counters, updated by its reader
// goroutines and the loop.
type counters struct {
	arpAnswered, ndpAnswered, arpGratuitous, ndpUnsolicited, foreign, sendErrors atomic.Uint64
}

func (c *counters) snapshot() InterfaceStats {
	return InterfaceStats{
		ARPAnswered: c.arpAnswered.Load(), NDPAnswered: c.ndpAnswered.Load(),
		ARPGratuitous: c.arpGratuitous.Load(), NDPUnsolicited: c.ndpUnsolicited.Load(),
		ForeignSightings: c.foreign.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// statsTable holds the counters of every interface by name.
type statsTable struct {
	mu             sync.Mutex
	byName         map[string]*counters
	foreignDropped atomic.Uint64
}

// get returns the counters of an interface, creating them on first use.
func (t *statsTable) get(name string) *counters {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName == nil {
		t.byName = map[string]*counters{}
	}
	c, ok := t.byName[name]
	if !ok {
		c = &counters{}
		t.byName[name] = c
	}
	return c
}

func (t *statsTable) snapshot() Stats {
	t.mu.Lock()
	byName := maps.Clone(t.byName)
	t.mu.Unlock()
	s := Stats{Interfaces: make(map[string]InterfaceStats, len(byName)), ForeignDropped: t.foreignDropped.Load()}
	for name, c := range byName {
		s.Interfaces[name] = c.snapshot()
	}
	return s
}
