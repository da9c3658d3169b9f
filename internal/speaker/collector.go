package speaker

import (
	"maps"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylonlb/pylon/internal/bgp"
)

// collector reports, at scrape time, what other components count: L2
// packets per interface, membership and BGP/BFD session states. Session
// states come from a snapshot the loop publishes, so scraping never
// touches loop-owned state.
type collector struct {
	a        *Agent
	sessions atomic.Pointer[[]bgp.SessionState]

	members, arpAnswered, ndpAnswered, arpGratuitous, ndpUnsolicited, sendErrors *prometheus.Desc
	sessionUp, bfdUp, prefixesSent                                               *prometheus.Desc
	hbSuspicions, hbRefuted, hbVerdicts, hbDead, hbDeclaredSelf, hbStalls        *prometheus.Desc
}

// newCollector describes the scrape-time metrics.
func newCollector(a *Agent) *collector {
	iface := []string{"interface"}
	peer := []string{"peer"}
	return &collector{
		a:              a,
		members:        prometheus.NewDesc("pylon_memberlist_members", "Live speakers this speaker sees (itself included).", nil, nil),
		arpAnswered:    prometheus.NewDesc("pylon_l2_arp_requests_answered_total", "ARP requests answered, by interface.", iface, nil),
		ndpAnswered:    prometheus.NewDesc("pylon_l2_ndp_solicitations_answered_total", "Neighbor Solicitations answered, by interface.", iface, nil),
		arpGratuitous:  prometheus.NewDesc("pylon_l2_gratuitous_arps_sent_total", "Gratuitous ARPs sent, by interface.", iface, nil),
		ndpUnsolicited: prometheus.NewDesc("pylon_l2_unsolicited_nas_sent_total", "Unsolicited Neighbor Advertisements sent, by interface.", iface, nil),
		sendErrors:     prometheus.NewDesc("pylon_l2_send_errors_total", "ARP/NDP frames that could not be sent, by interface.", iface, nil),
		sessionUp:      prometheus.NewDesc("pylon_bgp_session_up", "1 when the BGP session to the peer is Established.", peer, nil),
		bfdUp:          prometheus.NewDesc("pylon_bfd_session_up", "1 when the BFD session to the peer is Up (absent without BFD).", peer, nil),
		prefixesSent:   prometheus.NewDesc("pylon_bgp_prefixes_sent", "Prefixes the session carries.", peer, nil),
		hbSuspicions: prometheus.NewDesc("pylon_heartbeat_suspicions_total",
			"Fast detector: watched speakers this speaker suspected (silent for the timeout).", nil, nil),
		hbRefuted: prometheus.NewDesc("pylon_heartbeat_refuted_total",
			"Fast detector: suspicions refuted (heard again, another watcher heard it, or its node answered a probe), by how.", []string{"by"}, nil),
		hbVerdicts: prometheus.NewDesc("pylon_heartbeat_verdicts_total",
			"Fast detector: nodes declared dead, by this speaker (own) or learnt from another (received).", []string{"source"}, nil),
		hbDead: prometheus.NewDesc("pylon_heartbeat_dead_nodes",
			"Fast detector: nodes counted dead now (left out of L2 elections).", nil, nil),
		hbDeclaredSelf: prometheus.NewDesc("pylon_heartbeat_declared_dead_self_total",
			"Fast detector: verdicts about this speaker that reached it (false verdicts, or ones made while it was cut off).", nil, nil),
		hbStalls: prometheus.NewDesc("pylon_heartbeat_stalls_total",
			"Fast detector: wake-ups more than half an interval late (this process was not scheduled).", nil, nil),
	}
}

// publishSessions stores the sessions for scrapes (called by the loop).
func (c *collector) publishSessions(s []bgp.SessionState) { c.sessions.Store(&s) }

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.arpAnswered, c.ndpAnswered, c.arpGratuitous, c.ndpUnsolicited,
		c.sendErrors, c.sessionUp, c.bfdUp, c.prefixesSent,
		c.hbSuspicions, c.hbRefuted, c.hbVerdicts, c.hbDead, c.hbDeclaredSelf, c.hbStalls} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(len(c.a.cfg.Members.Members())))
	st := c.a.cfg.Announcer.Stats()
	for _, name := range slices.Sorted(maps.Keys(st.Interfaces)) {
		i := st.Interfaces[name]
		ch <- prometheus.MustNewConstMetric(c.arpAnswered, prometheus.CounterValue, float64(i.ARPAnswered), name)
		ch <- prometheus.MustNewConstMetric(c.ndpAnswered, prometheus.CounterValue, float64(i.NDPAnswered), name)
		ch <- prometheus.MustNewConstMetric(c.arpGratuitous, prometheus.CounterValue, float64(i.ARPGratuitous), name)
		ch <- prometheus.MustNewConstMetric(c.ndpUnsolicited, prometheus.CounterValue, float64(i.NDPUnsolicited), name)
		ch <- prometheus.MustNewConstMetric(c.sendErrors, prometheus.CounterValue, float64(i.SendErrors), name)
	}
	if d := c.a.cfg.Detector; d != nil {
		c.collectDetector(ch, d)
	}
	if p := c.sessions.Load(); p != nil {
		for _, s := range *p {
			ch <- prometheus.MustNewConstMetric(c.sessionUp, prometheus.GaugeValue, boolValue(s.State == bgp.StateEstablished), s.Name)
			ch <- prometheus.MustNewConstMetric(c.prefixesSent, prometheus.GaugeValue, float64(s.PrefixesSent), s.Name)
			if s.BFD != bgp.BFDDisabled {
				ch <- prometheus.MustNewConstMetric(c.bfdUp, prometheus.GaugeValue, boolValue(s.BFD == bgp.BFDUp), s.Name)
			}
		}
	}
}

// boolValue is 1 for true.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collectDetector reports the fast detector's counters.
func (c *collector) collectDetector(ch chan<- prometheus.Metric, d Detector) {
	s := d.Stats()
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.hbSuspicions, s.Suspicions)
	counter(c.hbRefuted, s.Refuted-s.RefutedByProbe, "heard")
	counter(c.hbRefuted, s.RefutedByProbe, "probe")
	counter(c.hbVerdicts, s.Verdicts, "own")
	counter(c.hbVerdicts, s.VerdictsReceived, "received")
	counter(c.hbDeclaredSelf, s.DeclaredDeadSelf)
	counter(c.hbStalls, s.Stalls)
	ch <- prometheus.MustNewConstMetric(c.hbDead, prometheus.GaugeValue, float64(len(d.Dead())))
}
