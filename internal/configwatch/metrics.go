package configwatch

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics reports the configuration state of one component.
type metrics struct {
	valid      prometheus.Gauge
	lastLoad   prometheus.Gauge
	rejections prometheus.Counter
}

// newMetrics creates the metrics and registers them when reg is not nil.
func newMetrics(reg prometheus.Registerer, component string) *metrics {
	labels := prometheus.Labels{"component": component}
	m := &metrics{
		valid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_config_valid", ConstLabels: labels,
			Help: "1 when the newest configuration objects are valid and in force; 0 while they are rejected and an older configuration (or none) stays in force.",
		}),
		lastLoad: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_config_last_load_timestamp_seconds", ConstLabels: labels,
			Help: "When the configuration in force was loaded (Unix seconds).",
		}),
		rejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pylon_config_rejections_total", ConstLabels: labels,
			Help: "Configurations rejected as invalid.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.valid, m.lastLoad, m.rejections)
	}
	return m
}

// loaded records a valid configuration taking effect.
func (m *metrics) loaded(now time.Time) {
	m.valid.Set(1)
	m.lastLoad.Set(float64(now.Unix()))
}

// rejected records an invalid configuration.
func (m *metrics) rejected() {
	m.valid.Set(0)
	m.rejections.Inc()
}
