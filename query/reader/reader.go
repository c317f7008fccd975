// Package reader holds every read query of the REST API: the SQL against
// Coldtrace's ClickHouse tables, and the assembly of rows into api types.
// Every value reaches ClickHouse as a bound parameter; every read is
// restricted to the tenant in the context (internal/tenant).
package reader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/tenant"
	"github.com/coldtrace/coldtrace/query/api"
)

// DefaultPrices returns the AWS Lambda x86 public prices (USD), the default for
// cost estimates.
func DefaultPrices() api.Prices {
	return api.Prices{PerGBSecond: 0.0000166667, PerMillionRequests: 0.20}
}

// Reader runs the API's queries.
type Reader struct {
	conn   driver.Conn
	prices api.Prices
	// Qualified table names.
	spans, traceTimes, functions, hourlyFunctions string
	database                                      string
	tracer                                        trace.Tracer
}

// Option customises a Reader.
type Option func(*Reader)

// WithTracerProvider makes a client span of every query (self-tracing).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(r *Reader) { r.tracer = tp.Tracer("github.com/coldtrace/coldtrace/query/reader") }
}

// New returns a Reader on the tables described by so.
func New(conn driver.Conn, so schema.Options, prices api.Prices, opts ...Option) *Reader {
	r := &Reader{
		conn:            conn,
		prices:          prices,
		spans:           so.Table(schema.TracesTable),
		traceTimes:      so.Table(schema.TraceIDLookupTable),
		functions:       so.Table(schema.FunctionStatsTable),
		hourlyFunctions: so.Table(schema.HourlyFunctionStatsTable),
		database:        so.Database,
		tracer:          noop.NewTracerProvider().Tracer(""),
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Prices are the prices cost estimates use.
func (r *Reader) Prices() api.Prices { return r.prices }

// Window is a half-open time range [Start, End).
type Window struct {
	Start, End time.Time
}

// API returns the window as the API reports it.
func (w Window) API() api.Window { return api.NewWindow(w.Start, w.End) }

// ns is the SQL expression for the instant bound as @name in unix
// nanoseconds: clickhouse-go binds a time.Time with second precision.
func ns(name string) string { return "fromUnixTimestamp64Nano(toInt64(@" + name + "), 'UTC')" }

// inWindow is the span filter for the bound window @start, @end.
var inWindow = "Timestamp >= " + ns("start") + " AND Timestamp < " + ns("end")

// gbSecondsDivisor turns BilledDurationMs × MemoryLimitBytes into
// GB-seconds, as the rollup does (ms → s, bytes → GiB).
const gbSecondsDivisor = 1073741824000.0

// cost estimates the price of invocations that billed gbSeconds.
func (r *Reader) cost(gbSeconds float64, invocations uint64) api.Cost {
	c := api.Cost{
		ComputeUSD:  gbSeconds * r.prices.PerGBSecond,
		RequestsUSD: float64(invocations) * r.prices.PerMillionRequests / 1e6,
	}
	c.TotalUSD = c.ComputeUSD + c.RequestsUSD
	return c
}

// query runs a statement with named parameters (@name). @tenant is
// always bound to the context's tenant, so no read can forget it.
func (r *Reader) query(ctx context.Context, what, sql string, args ...driver.NamedValue) (driver.Rows, error) {
	params := make([]any, 0, len(args)+1)
	params = append(params, clickhouse.Named("tenant", tenant.FromContext(ctx)))
	for _, a := range args {
		params = append(params, a)
	}
	ctx, span := r.tracer.Start(ctx, what, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		// The text has placeholders only: values are bound apart.
		span.SetAttributes(semconv.DBSystemNameClickHouse, semconv.DBNamespace(r.database),
			semconv.DBOperationName("SELECT"), semconv.DBQuerySummary(what), semconv.DBQueryText(sql))
	}
	rows, err := r.conn.Query(ctx, sql, params...)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !span.IsRecording() {
		return rows, nil
	}
	return tracedRows{Rows: rows, span: span}, nil
}

// tracedRows ends a query's span when its rows are closed: a streamed
// result is read long after the query returns.
type tracedRows struct {
	driver.Rows
	span trace.Span
}

func (t tracedRows) Close() error {
	err := t.Rows.Close()
	if rerr := errors.Join(t.Rows.Err(), err); rerr != nil {
		t.span.SetStatus(codes.Error, rerr.Error())
	}
	t.span.End()
	return err
}

// each runs a statement and calls scan for every row.
func (r *Reader) each(ctx context.Context, what, sql string, args []driver.NamedValue, scan func(driver.Rows) error) error {
	rows, err := r.query(ctx, what, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// windowArgs binds @start and @end (unix nanoseconds) of w.
func windowArgs(w Window) []driver.NamedValue {
	return []driver.NamedValue{
		clickhouse.Named("start", w.Start.UnixNano()),
		clickhouse.Named("end", w.End.UnixNano()),
	}
}

func unixNano(ns int64) time.Time { return time.Unix(0, ns).UTC() }
