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
		c("requests_total", "OTLP export requests decoded and handed on (malformed, unauthenticated and throttled ones are not in it).", s.Requests.Load),
		c("requests_malformed_total", "OTLP requests refused as malformed.", s.RequestsMalformed.Load),
		c("requests_throttled_total", "OTLP requests told to retry because too many request bytes were in flight (--max-inflight-bytes).", s.RequestsThrottled.Load),
		c("spans_received_total", "Spans in accepted OTLP requests.", s.SpansReceived.Load),
		c("spans_refused_total", "Spans the sender was told were not accepted (retryable or not).", s.SpansRefused.Load),
	}
}
