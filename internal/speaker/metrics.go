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
	}
	if reg != nil {
		reg.MustRegister(m.l2Owned, m.l2Takeovers, m.l2Conflicts, m.bgpPrefixes, m.bgpConflicts)
	}
	return m
}
