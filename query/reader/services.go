package reader

import (
	"context"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/query/api"
)

// Services lists the services with spans starting in w.
func (r *Reader) Services(ctx context.Context, w Window) ([]api.Service, error) {
	sql := `SELECT ServiceName, count(), countIf(StatusCode = 'Error' OR ErrorType != ''), max(FunctionName != '')
FROM ` + r.spans + `
WHERE TenantId = @tenant AND ` + inWindow + `
GROUP BY ServiceName
ORDER BY ServiceName`
	out := []api.Service{}
	err := r.each(ctx, "services", sql, windowArgs(w), func(rows driver.Rows) error {
		var s api.Service
		err := rows.Scan(&s.Name, &s.SpanCount, &s.ErrorCount, &s.Function)
		out = append(out, s)
		return err
	})
	return out, err
}

// Operations lists the span names (per kind) of service in w.
func (r *Reader) Operations(ctx context.Context, service string, w Window) ([]api.Operation, error) {
	sql := `SELECT SpanName, SpanKind, count()
FROM ` + r.spans + `
WHERE TenantId = @tenant AND ServiceName = @service AND ` + inWindow + `
GROUP BY SpanName, SpanKind
ORDER BY SpanName, SpanKind`
	out := []api.Operation{}
	err := r.each(ctx, "operations", sql, append(windowArgs(w), clickhouse.Named("service", service)), func(rows driver.Rows) error {
		var o api.Operation
		err := rows.Scan(&o.Name, &o.Kind, &o.SpanCount)
		o.Kind = Kind(o.Kind)
		out = append(out, o)
		return err
	})
	return out, err
}

// callerLead is how long before a window's start the caller of a span in
// it may have started and still be found: a function's longest timeout.
const callerLead = 15 * time.Minute

// Dependencies returns the service call graph of spans starting in w: an
// edge for each pair of services where a span of the child has a parent
// span in the parent service (which may have started up to callerLead
// before w).
func (r *Reader) Dependencies(ctx context.Context, w Window) ([]api.DependencyEdge, error) {
	sql := `SELECT p.ServiceName AS parent, c.ServiceName AS child,
       count(), countIf(c.StatusCode = 'Error' OR c.ErrorType != ''), quantile(0.95)(c.Duration)
FROM (
    SELECT TraceId, ParentSpanId, ServiceName, StatusCode, ErrorType, Duration
    FROM ` + r.spans + `
    WHERE TenantId = @tenant AND ` + inWindow + ` AND ParentSpanId != ''
) AS c
INNER JOIN (
    SELECT TraceId, SpanId, ServiceName
    FROM ` + r.spans + `
    WHERE TenantId = @tenant AND Timestamp >= ` + ns("callersStart") + ` AND Timestamp < ` + ns("end") + `
) AS p ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId
WHERE p.ServiceName != c.ServiceName
GROUP BY parent, child
ORDER BY parent, child`
	out := []api.DependencyEdge{}
	args := append(windowArgs(w), clickhouse.Named("callersStart", w.Start.Add(-callerLead).UnixNano()))
	err := r.each(ctx, "dependencies", sql, args, func(rows driver.Rows) error {
		var e api.DependencyEdge
		err := rows.Scan(&e.Parent, &e.Child, &e.Calls, &e.Errors, &e.P95DurationNano)
		// quantile interpolates; durations are whole nanoseconds.
		e.P95DurationNano = math.Round(e.P95DurationNano)
		out = append(out, e)
		return err
	})
	return out, err
}
