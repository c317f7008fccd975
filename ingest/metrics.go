package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coldtrace/coldtrace/internal/metrics"
)

// Metrics are the pipeline's Prometheus metrics, read from its counters at
// scrape time.
func (p *Pipeline) Metrics() []prometheus.Collector {
	s := &p.stats
	c := func(name, help string, v func() int64) prometheus.Collector {
		return metrics.CounterFunc("ingest", name, help, func() float64 { return float64(v()) })
	}
	g := func(name, help string, v func() float64) prometheus.Collector {
		return metrics.GaugeFunc("ingest", name, help, v)
	}
	out := []prometheus.Collector{
		c("spans_received_total", "Spans handed to ingest.", s.SpansReceived.Load),
		c("spans_stored_total", "Spans inserted into ClickHouse.", s.SpansStored.Load),
		c("spans_rejected_total", "Spans refused: throttled, older than the retention, or not stored.", s.SpansRejected.Load),
		c("spans_repeated_total", "Spans acknowledged without being stored again: repeats of spans acknowledged lately (sender retries).", s.SpansRepeated.Load),
		c("attributes_truncated_total", "Attributes, events and links dropped or cut by the limits.", s.SpansTruncated.Load),
		c("batches_total", "Inserts into ClickHouse.", s.Batches.Load),
		c("batch_spans_total", "Spans in all inserts (divide by batches_total for the mean batch size).", s.BatchSpans.Load),
		c("insert_errors_total", "Failed insert attempts (retried).", s.InsertErrors.Load),
		metrics.CounterFunc("ingest", "insert_seconds_total", "Time spent in successful inserts (divide by batches_total for the mean latency).",
			func() float64 { return float64(s.InsertNanos.Load()) / 1e9 }),
		g("queue_spans", "Spans accepted and waiting to be inserted (without a spool).", func() float64 { return float64(s.Queued.Load()) }),
		g("inserts_failing_seconds", "How long inserts into ClickHouse have failed without a success, or a spooled collector has waited for ClickHouse since it started (0 while inserts succeed).",
			func() float64 { return p.InsertsFailingFor().Seconds() }),
		p.batchSpans, p.insertSeconds,
	}
	if p.spool != nil {
		out = append(out,
			g("spool_records", "Requests in the spool not yet stored in ClickHouse.", func() float64 { return float64(p.spool.Stats().Records) }),
			g("spool_bytes", "Bytes in the spool not yet stored in ClickHouse.", func() float64 { return float64(p.spool.Stats().Bytes) }),
			g("spool_lag_seconds", "Age of the oldest request in the spool not yet stored.", func() float64 { return p.spool.Stats().Lag.Seconds() }),
			g("spool_max_bytes", "Spool size at which senders are throttled.", func() float64 { return float64(p.cfg.Spool.MaxBytes) }),
			g("spool_append_failing", "1 while appends to the spool fail (for example, disk full).", func() float64 {
				if p.spool.Stats().Err != nil {
					return 1
				}
				return 0
			}),
		)
	}
	return out
}
