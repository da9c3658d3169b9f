package allocation

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylonlb/pylon/internal/ipam"
)

// metrics reports allocations and pool usage.
type metrics struct {
	allocations *prometheus.CounterVec
	failures    *prometheus.CounterVec
}

// newMetrics creates the metrics and registers them when reg is not nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		allocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_allocations_total", Help: "Address assignments to Services, by pool.",
		}, []string{"pool"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_allocation_failures_total", Help: "Failed allocations, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.allocations, m.failures)
	}
	return m
}

// allocated counts one assignment.
func (m *metrics) allocated(pool string) { m.allocations.WithLabelValues(pool).Inc() }

// failure counts one failed allocation by its sentinel.
func (m *metrics) failure(err error) {
	m.failures.WithLabelValues(failureReason(err)).Inc()
}

// failureReason maps an allocation error to a bounded label value.
func failureReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{ErrBadServiceInput, "invalid_request"},
		{ipam.ErrPoolExhausted, "pool_exhausted"},
		{ipam.ErrIPInUse, "ip_in_use"},
		{ipam.ErrNotInAnyPool, "not_in_any_pool"},
		{ipam.ErrReservedIP, "reserved_ip"},
		{ipam.ErrUnknownPool, "unknown_pool"},
		{ipam.ErrPoolNotAllowed, "pool_not_allowed"},
		{ipam.ErrWrongFamily, "wrong_family"},
		{ipam.ErrDualStackUnavailable, "dual_stack_unavailable"},
		{ipam.ErrNoPool, "no_pool"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "other"
}

// poolCollector reports pool usage at scrape time, so allocations pay
// nothing for it.
type poolCollector struct {
	r         *Reconciler
	inUse     *prometheus.Desc
	available *prometheus.Desc
	reserved  *prometheus.Desc
	held      *prometheus.Desc
}

// newPoolCollector describes the pool gauges.
func newPoolCollector(r *Reconciler) *poolCollector {
	return &poolCollector{
		r: r,
		inUse: prometheus.NewDesc("pylon_pool_addresses_in_use",
			"Addresses held by Services, by pool and family.", []string{"pool", "family"}, nil),
		available: prometheus.NewDesc("pylon_pool_addresses_available",
			"Free addresses, by pool and family (capped at 2^63-1).", []string{"pool", "family"}, nil),
		reserved: prometheus.NewDesc("pylon_pool_addresses_reserved",
			"Addresses of the pool that are the network's own and never handed out, by pool and reason "+
				"(node, bgp_peer, subnet).", []string{"pool", "reason"}, nil),
		held: prometheus.NewDesc("pylon_pool_reserved_addresses_held",
			"Reserved addresses that Services still hold (they had them before the address became reserved), by pool.",
			[]string{"pool"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inUse
	ch <- c.available
	ch <- c.reserved
	ch <- c.held
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.r.poolNames() {
		st, ok := c.r.Stats(p)
		if !ok {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.AssignedIPv4), p, "IPv4")
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.AssignedIPv6), p, "IPv6")
		ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, float64(st.AvailableIPv4), p, "IPv4")
		ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, float64(st.AvailableIPv6), p, "IPv6")
	}
	byKind, held := c.r.reservedCounts()
	for k, n := range byKind {
		ch <- prometheus.MustNewConstMetric(c.reserved, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for pool, n := range held {
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(n), pool)
	}
}
