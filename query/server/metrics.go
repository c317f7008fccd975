package server

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coldtrace/coldtrace/internal/metrics"
)

// requestBuckets span a trace read from the embedded engine (a few ms) to
// the default query time limit (30 s).
var requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

func newRequestDuration() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace,
		Subsystem: "query",
		Name:      "request_duration_seconds",
		Help:      "Time to answer a request of the REST API, the Jaeger-compatible API or the web UI, by route pattern (/api/v1/traces/:traceId) and HTTP status code.",
		Buckets:   requestBuckets,
	}, []string{"route", "code"})
}

// Metrics are the API's Prometheus metrics.
func (s *Server) Metrics() []prometheus.Collector {
	return []prometheus.Collector{s.requestDuration}
}

// observe times every request under its registered route pattern, never
// its path: a label per trace id would be a series per trace. It is the
// outermost middleware, so an error's answer is written (and its status
// known) here; a stream aborted mid-way is recorded with the status it
// began with.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		defer func() {
			s.requestDuration.WithLabelValues(c.Path(), strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
		}()
		err := next(c)
		if err != nil {
			// The error handler skips answers already written, so
			// returning err after writing it changes nothing.
			c.Error(err)
		}
		return err
	}
}
