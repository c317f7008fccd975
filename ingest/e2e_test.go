package ingest_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// storedSpan is one otel_traces row as read back.
type storedSpan struct {
	Timestamp          time.Time
	TraceID, SpanID    string
	ParentSpanID       string
	TraceState         string
	SpanName, SpanKind string
	ServiceName        string
	ResourceAttributes map[string]string
	ScopeName          string
	ScopeVersion       string
	SpanAttributes     map[string]string
	Duration           uint64
	StatusCode         string
	StatusMessage      string
	EventsTimestamp    []time.Time
	EventsName         []string
	EventsAttributes   []map[string]string
	LinksTraceID       []string
	LinksSpanID        []string
	LinksTraceState    []string
	LinksAttributes    []map[string]string
	SpanAttributeTypes map[string]string
	ResAttributeTypes  map[string]string
	FunctionName       string
	FunctionVersion    string
	FaasInstance       string
	IsInvocation       bool
	ColdStart          bool
	ErrorType          string
	InitDurationMs     float64
	BilledDurationMs   uint64
	MaxMemoryUsedBytes uint64
	MemoryLimitBytes   uint64
	TimeoutMs          uint64
}

func readSpans(t *testing.T, s *ingesttest.Stack, traceID string) map[string]storedSpan {
	t.Helper()
	s.WaitStored(t)
	rows, err := s.Client.Query(context.Background(), `SELECT Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
		ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage,
		Events.Timestamp, Events.Name, Events.Attributes, Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes,
		SpanAttributeTypes, ResourceAttributeTypes, FunctionName, FunctionVersion, FaasInstance, IsInvocation, ColdStart,
		ErrorType, InitDurationMs, BilledDurationMs, MaxMemoryUsedBytes, MemoryLimitBytes, TimeoutMs
		FROM `+s.Table(schema.TracesTable)+` WHERE TraceId = ?`, traceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedSpan{}
	for rows.Next() {
		var r storedSpan
		if err := rows.Scan(&r.Timestamp, &r.TraceID, &r.SpanID, &r.ParentSpanID, &r.TraceState, &r.SpanName, &r.SpanKind,
			&r.ServiceName, &r.ResourceAttributes, &r.ScopeName, &r.ScopeVersion, &r.SpanAttributes, &r.Duration, &r.StatusCode, &r.StatusMessage,
			&r.EventsTimestamp, &r.EventsName, &r.EventsAttributes, &r.LinksTraceID, &r.LinksSpanID, &r.LinksTraceState, &r.LinksAttributes,
			&r.SpanAttributeTypes, &r.ResAttributeTypes, &r.FunctionName, &r.FunctionVersion, &r.FaasInstance, &r.IsInvocation, &r.ColdStart,
			&r.ErrorType, &r.InitDurationMs, &r.BilledDurationMs, &r.MaxMemoryUsedBytes, &r.MemoryLimitBytes, &r.TimeoutMs); err != nil {
			t.Fatal(err)
		}
		out[r.SpanName] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exporters returns the OTel SDK's OTLP exporters pointed at the stack.
func exporters(t *testing.T, s *ingesttest.Stack) map[string]sdktrace.SpanExporter {
	ctx := context.Background()
	g, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.HTTPAddr), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]sdktrace.SpanExporter{"grpc": g, "http": h}
}

// TestOTelSDKRoundTrip sends spans with the OTel Go SDK's gRPC and HTTP
// exporters, with the spool and without, and compares every stored field
// with what was sent.
func TestOTelSDKRoundTrip(t *testing.T) {
	for _, spool := range []bool{true, false} {
		s := ingesttest.Start(t, ingesttest.Options{Spool: spool})
		for name, exp := range exporters(t, s) {
			t.Run(fmt.Sprintf("%s/spool=%v", name, spool), func(t *testing.T) { roundTrip(t, s, exp, name) })
		}
	}
}

func roundTrip(t *testing.T, s *ingesttest.Stack, exp sdktrace.SpanExporter, protocol string) {
	ctx := context.Background()
	res := resource.NewWithAttributes("",
		attribute.String("service.name", "checkout-"+protocol),
		attribute.String("faas.name", "checkout-"+protocol),
		attribute.String("faas.version", "7"),
		attribute.String("faas.instance", "inst-1"),
		attribute.Int64("faas.max_memory", 256<<20),
		attribute.String("cloud.provider", "coldtrace"),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("coldtrace.test/scope", trace.WithInstrumentationVersion("1.2.3"))

	// The remote parent carries a trace state the spans inherit.
	ts, err := trace.ParseTraceState("vendor=abc,other=1")
	if err != nil {
		t.Fatal(err)
	}
	var traceID trace.TraceID
	copy(traceID[:], fmt.Sprintf("%016d", time.Now().UnixNano()%1e16))
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, SpanID: trace.SpanID{8, 8, 8, 8, 8, 8, 8, 8}, TraceState: ts})

	start := time.Now().Add(-time.Second).Truncate(time.Microsecond).Add(123) // nanosecond precision
	end := start.Add(250*time.Millisecond + 7)
	evAt := start.Add(10*time.Millisecond + 3)
	pctx := trace.ContextWithRemoteSpanContext(ctx, parent)
	ictx, inv := tracer.Start(pctx, "checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("link.kind", "batch"), attribute.Int("link.n", 2)}}),
		trace.WithAttributes(
			attribute.String("faas.trigger", "http"),
			attribute.String("faas.invocation_id", "req-1"),
			attribute.Bool("faas.coldstart", true),
			attribute.String("error.type", "timeout"),
			attribute.Float64("coldtrace.init_duration_ms", 41.5),
			attribute.Int64("coldtrace.billed_duration_ms", 292),
			attribute.Int64("coldtrace.max_memory_used_bytes", 99<<20),
			attribute.Int64("coldtrace.timeout_ms", 3000),
			attribute.StringSlice("tags", []string{"a", "b"}),
			attribute.Int64Slice("ints", []int64{1, 2}),
			attribute.BoolSlice("bools", []bool{true, false}),
			attribute.Float64Slice("floats", []float64{1.5, 2}),
		))
	inv.AddEvent("retry", trace.WithTimestamp(evAt), trace.WithAttributes(attribute.Int("attempt", 2), attribute.String("why", "busy")))
	inv.SetStatus(codes.Error, "Task timed out after 3.00 seconds")
	_, child := tracer.Start(ictx, "db.query", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(time.Millisecond)))
	child.End(trace.WithTimestamp(start.Add(5 * time.Millisecond)))
	inv.End(trace.WithTimestamp(end))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}

	got := readSpans(t, s, hex.EncodeToString(traceID[:]))
	if len(got) != 2 {
		t.Fatalf("stored %d spans, want 2: %v", len(got), got)
	}
	root, db := got["checkout"], got["db.query"]
	check := func(field string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", field, got, want)
		}
	}
	check("Timestamp", root.Timestamp.UnixNano(), start.UnixNano())
	check("Duration", root.Duration, uint64(end.Sub(start)))
	check("TraceId", root.TraceID, hex.EncodeToString(traceID[:]))
	check("SpanId", root.SpanID, inv.SpanContext().SpanID().String())
	check("ParentSpanId", root.ParentSpanID, parent.SpanID().String())
	check("TraceState", root.TraceState, "vendor=abc,other=1")
	check("SpanKind", root.SpanKind, "Server")
	check("ServiceName", root.ServiceName, "checkout-"+protocol)
	check("ScopeName", root.ScopeName, "coldtrace.test/scope")
	check("ScopeVersion", root.ScopeVersion, "1.2.3")
	check("StatusCode", root.StatusCode, "Error")
	check("StatusMessage", root.StatusMessage, "Task timed out after 3.00 seconds")
	check("ResourceAttributes", sortedMap(root.ResourceAttributes), sortedMap(map[string]string{
		"service.name": "checkout-" + protocol, "faas.name": "checkout-" + protocol, "faas.version": "7",
		"faas.instance": "inst-1", "faas.max_memory": "268435456", "cloud.provider": "coldtrace"}))
	check("ResourceAttributeTypes", sortedMap(root.ResAttributeTypes), sortedMap(map[string]string{"faas.max_memory": "int"}))
	check("SpanAttributes", sortedMap(root.SpanAttributes), sortedMap(map[string]string{
		"faas.trigger": "http", "faas.invocation_id": "req-1", "faas.coldstart": "true", "error.type": "timeout",
		"coldtrace.init_duration_ms": "41.5", "coldtrace.billed_duration_ms": "292", "coldtrace.max_memory_used_bytes": "103809024",
		"coldtrace.timeout_ms": "3000", "tags": `["a","b"]`, "ints": "[1,2]", "bools": "[true,false]", "floats": "[1.5,2]"}))
	check("SpanAttributeTypes", sortedMap(root.SpanAttributeTypes), sortedMap(map[string]string{
		"faas.coldstart": "bool", "coldtrace.init_duration_ms": "double", "coldtrace.billed_duration_ms": "int",
		"coldtrace.max_memory_used_bytes": "int", "coldtrace.timeout_ms": "int", "tags": "array", "ints": "array",
		"bools": "array", "floats": "array"}))
	check("Events.Timestamp", len(root.EventsTimestamp) == 1 && root.EventsTimestamp[0].UnixNano() == evAt.UnixNano(), true)
	check("Events.Name", root.EventsName, []string{"retry"})
	check("Events.Attributes", len(root.EventsAttributes) == 1 && sortedMap(root.EventsAttributes[0]) == sortedMap(map[string]string{"attempt": "2", "why": "busy"}), true)
	check("Links.TraceId", root.LinksTraceID, []string{"09090909090909090909090909090909"})
	check("Links.SpanId", root.LinksSpanID, []string{"0808080808080808"})
	// The Go SDK's OTLP exporters do not send a link's trace state; the
	// OTLP/JSON test covers that field.
	check("Links.TraceState", root.LinksTraceState, []string{""})
	check("Links.Attributes", len(root.LinksAttributes) == 1 && sortedMap(root.LinksAttributes[0]) == sortedMap(map[string]string{"link.kind": "batch", "link.n": "2"}), true)
	// Typed serverless columns.
	check("FunctionName", root.FunctionName, "checkout-"+protocol)
	check("FunctionVersion", root.FunctionVersion, "7")
	check("FaasInstance", root.FaasInstance, "inst-1")
	check("IsInvocation", root.IsInvocation, true)
	check("ColdStart", root.ColdStart, true)
	check("ErrorType", root.ErrorType, "timeout")
	check("InitDurationMs", root.InitDurationMs, 41.5)
	check("BilledDurationMs", root.BilledDurationMs, 292)
	check("MaxMemoryUsedBytes", root.MaxMemoryUsedBytes, 99<<20)
	check("MemoryLimitBytes", root.MemoryLimitBytes, 256<<20)
	check("TimeoutMs", root.TimeoutMs, 3000)
	// The child: parented, not an invocation.
	check("child ParentSpanId", db.ParentSpanID, root.SpanID)
	check("child SpanKind", db.SpanKind, "Client")
	check("child Duration", db.Duration, uint64(4*time.Millisecond))
	check("child IsInvocation", db.IsInvocation, false)
	check("child StatusCode", db.StatusCode, "Unset")
	check("child FunctionName", db.FunctionName, "checkout-"+protocol)
}

func sortedMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		out += k + "=" + m[k] + ";"
	}
	return out
}

// TestServerDSN runs the round trip against a ClickHouse server
// (native or HTTP DSN) when COLDTRACE_TEST_CLICKHOUSE_DSN names one; the
// whole suite then uses that server instead of the embedded engine.
func TestServerDSN(t *testing.T) {
	if os.Getenv(chtest.DSNEnv) == "" {
		t.Skipf("set %s (e.g. clickhouse://default@127.0.0.1:9000 or http://127.0.0.1:8123) to run the suite against a ClickHouse server", chtest.DSNEnv)
	}
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	if s.Client.Embedded() {
		t.Fatal("a server DSN was given but the embedded engine is in use")
	}
	for name, exp := range exporters(t, s) {
		t.Run(name, func(t *testing.T) { roundTrip(t, s, exp, name) })
	}
}
