package speaker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics reports what the speaker announces.
type metrics struct {
	l2Owned      prometheus.Gauge
	l2Takeovers  prometheus.Counter
	l2Conflicts  prometheus.Counter
	bgpPrefixes  prometheus.Gauge
	bgpConflicts prometheus.Counter
	bgpUpdates   *prometheus.CounterVec
	failoverGap  *prometheus.HistogramVec
}

// newMetrics creates the metrics and registers them when reg is not nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		l2Owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_l2_addresses_owned", Help: "Service addresses this node answers ARP/NDP for.",
		}),
		l2Takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pylon_l2_ownership_changes_total", Help: "Addresses this node started announcing (takeovers included).",
		}),
		l2Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pylon_l2_conflicts_total", Help: "Times another host claimed an address this node announces.",
		}),
		bgpPrefixes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_bgp_prefixes_announced", Help: "Prefixes this node announces over BGP.",
		}),
		bgpConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pylon_bgp_localpref_conflicts_total", Help: "Prefixes announced despite advertisements asking for different localPref.",
		}),
		bgpUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_bgp_path_updates_total", Help: "Prefix announcements and withdrawals handed to BGP, by operation.",
		}, []string{"op"}),
		failoverGap: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pylon_l2_takeover_seconds",
			Help:    "From this speaker learning that an address's owner is gone (dead, left or draining) to it announcing the address. Failure detection (memberlist probing and suspicion) comes before and is not included.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"previous_owner"}),
	}
	if reg != nil {
		reg.MustRegister(m.l2Owned, m.l2Takeovers, m.l2Conflicts, m.bgpPrefixes, m.bgpConflicts, m.bgpUpdates, m.failoverGap)
	}
	return m
}
