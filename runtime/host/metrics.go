package host

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics count what the host runs, for Prometheus: invocations by
// outcome, cold starts, their durations, and instances by state.
type metrics struct {
	invocations *prometheus.CounterVec
	coldStarts  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	initTime    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coldtrace", Subsystem: "runtime", Name: "invocations_total",
			Help: "Invocations by function and error type (empty: success; throttled ones included)."}, []string{"function", "error_type"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coldtrace", Subsystem: "runtime", Name: "cold_starts_total",
			Help: "Invocations served by a new instance."}, []string{"function"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coldtrace", Subsystem: "runtime", Name: "invocation_duration_seconds",
			Help: "Handler time of invocations that ran.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"function"}),
		initTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "coldtrace", Subsystem: "runtime", Name: "init_duration_seconds",
			Help: "Cold starts' init time: spawn to the runtime's first /next.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"function"}),
	}
}

func (m *metrics) observe(resp *Response) {
	fn := resp.Function.Name
	m.invocations.WithLabelValues(fn, resp.ErrorType).Inc()
	if resp.Cold {
		m.coldStarts.WithLabelValues(fn).Inc()
		m.initTime.WithLabelValues(fn).Observe(resp.Init.Seconds())
	}
	if resp.Duration > 0 {
		m.duration.WithLabelValues(fn).Observe(resp.Duration.Seconds())
	}
}

var instancesDesc = prometheus.NewDesc("coldtrace_runtime_instances", "Instances of a function by state (live counts starting, idle and busy ones), and invocations waiting for one.",
	[]string{"function", "state"}, nil)

// instancesCollector reads the pools at scrape time.
type instancesCollector struct{ h *Host }

func (c instancesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- instancesDesc }

func (c instancesCollector) Collect(ch chan<- prometheus.Metric) {
	c.h.mu.Lock()
	pools := make(map[string]*functionPool, len(c.h.pools))
	for name, fp := range c.h.pools {
		pools[name] = fp
	}
	c.h.mu.Unlock()
	for name, fp := range pools {
		st := fp.pool.Stats()
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(st.Live), name, "live")
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(st.Idle), name, "idle")
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(st.Waiting), name, "waiting")
	}
}

// Metrics are the host's Prometheus collectors.
func (h *Host) Metrics() []prometheus.Collector {
	return []prometheus.Collector{h.metrics.invocations, h.metrics.coldStarts, h.metrics.duration, h.metrics.initTime, instancesCollector{h}}
}
