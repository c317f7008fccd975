package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coldtrace/coldtrace/internal/metrics"
)

// Metrics are the receiver's Prometheus metrics.
func (r *Receiver) Metrics() []prometheus.Collector {
	s := &r.stats
	c := func(name, help string, v func() int64) prometheus.Collector {
		return metrics.CounterFunc("receiver", name, help, func() float64 { return float64(v()) })
	}
	return []prometheus.Collector{
		c("requests_total", "OTLP export requests.", s.Requests.Load),
		c("requests_malformed_total", "OTLP requests refused as malformed.", s.RequestsMalformed.Load),
		c("spans_received_total", "Spans in accepted OTLP requests.", s.SpansReceived.Load),
		c("spans_refused_total", "Spans the sender was told were not accepted (retryable or not).", s.SpansRefused.Load),
	}
}
