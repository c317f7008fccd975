package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/query/reader"
	"github.com/coldtrace/coldtrace/query/server"
)

// sent records what the fixture sent, to check responses against.
type sent struct {
	base time.Time // every span starts after base

	// Trace 1: gateway → orders (cold start, with init), events, links.
	coldTrace                                   trace.SpanContext
	gatewayRoot, gatewayCall, invocation, init_ sentSpan
	db                                          sentSpan
	// Trace 2: orders times out on the same instance (warm).
	timeoutTrace trace.SpanContext
	timeoutInv   sentSpan
	// Traces 3..: pagerCount single-span traces of service "pager".
	pagerTraces []trace.SpanContext
}

// sentSpan is a span as the fixture made it.
type sentSpan struct {
	ctx        trace.SpanContext
	parent     trace.SpanContext
	service    string
	name       string
	kind       trace.SpanKind
	start, end time.Time
}

const (
	pagerCount     = 25
	memoryLimit    = 134217728 // faas.max_memory of the orders function
	billedColdMs   = 700
	billedTimeout  = 3000
	initDurationMs = 287.5
)

// provider returns a tracer provider for one resource, exporting over
// OTLP/gRPC to the stack.
func provider(t *testing.T, addr string, attrs ...attribute.KeyValue) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
}

// sendFixture sends the fixture's traces and returns what it sent once
// every span is stored.
func sendFixture(t *testing.T, s *ingesttest.Stack) *sent {
	t.Helper()
	ctx := context.Background()
	f := &sent{base: time.Now().Add(-20 * time.Minute).Truncate(time.Millisecond)}
	gw := provider(t, s.GRPCAddr, attribute.String("service.name", "api-gateway"), attribute.String("deployment.environment", "test"))
	orders := provider(t, s.GRPCAddr,
		attribute.String("service.name", "orders"), attribute.String("faas.name", "orders"), attribute.String("faas.version", "3"),
		attribute.String("faas.instance", "orders-3-a"), attribute.Int64("faas.max_memory", memoryLimit),
		attribute.String("cloud.provider", "coldtrace"))
	pager := provider(t, s.GRPCAddr, attribute.String("service.name", "pager"))
	gwT := gw.Tracer("net/http", trace.WithInstrumentationVersion("0.60.0"))
	ordT := orders.Tracer("coldtrace.runtime")
	pagT := pager.Tracer("pager")

	// Trace 1.
	b := f.base
	rootCtx, root := startSpan(ctx, gwT, "api-gateway", "GET /orders/{id}", trace.SpanKindServer, b, b.Add(900*time.Millisecond),
		[]attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200), attribute.String("http.route", "/orders/{id}")})
	callCtx, call := startSpan(rootCtx, gwT, "api-gateway", "call orders", trace.SpanKindClient, b.Add(5*time.Millisecond), b.Add(890*time.Millisecond), nil)
	invCtx, inv := startSpan(callCtx, ordT, "orders", "orders", trace.SpanKindServer, b.Add(10*time.Millisecond), b.Add(700*time.Millisecond),
		[]attribute.KeyValue{
			attribute.String("faas.trigger", "http"), attribute.String("faas.invocation_id", "inv-1"), attribute.Bool("faas.coldstart", true),
			attribute.Float64("coldtrace.init_duration_ms", initDurationMs), attribute.Int("coldtrace.billed_duration_ms", billedColdMs),
			attribute.Int64("coldtrace.max_memory_used_bytes", 60000000), attribute.Int("coldtrace.timeout_ms", 3000)})
	_, ini := startSpan(invCtx, ordT, "orders", "init", trace.SpanKindInternal, b.Add(10*time.Millisecond), b.Add(297*time.Millisecond), nil)
	_, db := startSpan(invCtx, ordT, "orders", "SELECT orders", trace.SpanKindClient, b.Add(300*time.Millisecond), b.Add(650*time.Millisecond),
		[]attribute.KeyValue{attribute.StringSlice("db.tables", []string{"orders", "items"}), attribute.Float64("db.cost", 1.5), attribute.Bool("db.cached", false)})
	f.coldTrace = root.rec.ctx
	f.gatewayRoot, f.gatewayCall, f.invocation, f.init_, f.db = root.rec, call.rec, inv.rec, ini.rec, db.rec
	db.s.AddEvent("rows fetched", trace.WithTimestamp(b.Add(600*time.Millisecond)), trace.WithAttributes(attribute.Int("rows", 3)))
	db.s.SetStatus(codes.Error, "slow query")
	db.end()
	ini.end()
	inv.end()
	call.end()
	root.end()

	// Trace 2: a timeout on the warm instance, linked to trace 1.
	b2 := f.base.Add(time.Minute)
	_, to := startSpan(ctx, ordT, "orders", "orders", trace.SpanKindServer, b2, b2.Add(3*time.Second),
		[]attribute.KeyValue{
			attribute.String("faas.trigger", "http"), attribute.String("faas.invocation_id", "inv-2"), attribute.Bool("faas.coldstart", false),
			attribute.String("error.type", "timeout"), attribute.Int("coldtrace.billed_duration_ms", billedTimeout),
			attribute.Int64("coldtrace.max_memory_used_bytes", 70000000), attribute.Int("coldtrace.timeout_ms", 3000)},
		trace.WithLinks(trace.Link{SpanContext: f.coldTrace, Attributes: []attribute.KeyValue{attribute.String("link.reason", "retry")}}))
	to.s.SetStatus(codes.Error, "Task timed out after 3.00 seconds")
	to.end()
	f.timeoutTrace, f.timeoutInv = to.rec.ctx, to.rec

	// Pager traces, one a second, newest last.
	for i := 0; i < pagerCount; i++ {
		st := f.base.Add(2*time.Minute + time.Duration(i)*time.Second)
		_, p := startSpan(ctx, pagT, "pager", fmt.Sprintf("page %d", i), trace.SpanKindInternal, st, st.Add(time.Duration(i+1)*time.Millisecond), nil)
		p.end()
		f.pagerTraces = append(f.pagerTraces, p.rec.ctx)
	}
	for _, tp := range []*sdktrace.TracerProvider{gw, orders, pager} {
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// liveSpan is a started span and its record.
type liveSpan struct {
	s   trace.Span
	rec sentSpan
}

func (l liveSpan) end() { l.s.End(trace.WithTimestamp(l.rec.end)) }

func startSpan(ctx context.Context, tr trace.Tracer, service, name string, kind trace.SpanKind, start, end time.Time,
	attrs []attribute.KeyValue, opts ...trace.SpanStartOption) (context.Context, liveSpan) {
	parent := trace.SpanContextFromContext(ctx)
	opts = append(opts, trace.WithTimestamp(start), trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	ctx, s := tr.Start(ctx, name, opts...)
	return ctx, liveSpan{s: s, rec: sentSpan{ctx: s.SpanContext(), parent: parent, service: service, name: name, kind: kind, start: start, end: end}}
}

// apiServer serves the API over the stack's database.
func apiServer(t *testing.T, s *ingesttest.Stack, mutate ...func(*server.Config)) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(apiHandler(t, s, mutate...))
	t.Cleanup(ts.Close)
	return ts
}

// apiHandler is the API over the stack's database.
func apiHandler(t testing.TB, s *ingesttest.Stack, mutate ...func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Database = s.Client.Database
	cfg.Embedded = s.Client.Embedded()
	cfg.Version = "test"
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := server.New(cfg, reader.New(s.Client, s.Schema, reader.DefaultPrices()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
