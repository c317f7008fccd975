package coldtracetest

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Function is a function of the seeded data set.
type Function struct {
	Name, Version string
	Trigger       string
	Kind          trace.SpanKind
	MemoryBytes   int64
	TimeoutMs     int64
}

// The seeded functions.
var (
	Checkout  = Function{Name: "checkout", Version: "v1", Trigger: "http", Kind: trace.SpanKindServer, MemoryBytes: 256 << 20, TimeoutMs: 3000}
	Thumbnail = Function{Name: "thumbnail", Version: "v3", Trigger: "pubsub", Kind: trace.SpanKindConsumer, MemoryBytes: 512 << 20, TimeoutMs: 10000}
	Report    = Function{Name: "report", Version: "v1", Trigger: "timer", Kind: trace.SpanKindInternal, MemoryBytes: 128 << 20, TimeoutMs: 60000}
)

// Services of the seeded data set that are not functions.
const (
	FrontendService = "frontend"
	PaymentsService = "payments"
)

// invocation is one function invocation of the data set and the spans
// around it.
type invocation struct {
	fn        Function
	instance  string
	at        time.Duration // start, from the data set's base
	handler   time.Duration // handler run time, after init on cold starts
	cold      bool
	initMs    float64
	errorType string
	memUsed   int64
	frontend  bool // called by the frontend service
	payment   bool // calls the payments service
}

// invocations are the data set: three functions, cold starts on new
// instances, a timeout and an out-of-memory failure. The first is the
// "golden" trace: frontend → checkout (cold, init child) → payments.
var invocations = []invocation{
	{fn: Checkout, instance: "checkout-a", at: 10 * time.Second, handler: 60 * time.Millisecond, cold: true, initMs: 120.5, memUsed: 80 << 20, frontend: true, payment: true},
	{fn: Checkout, instance: "checkout-a", at: 70 * time.Second, handler: 40 * time.Millisecond, memUsed: 82 << 20, frontend: true, payment: true},
	{fn: Checkout, instance: "checkout-a", at: 130 * time.Second, handler: 3000 * time.Millisecond, errorType: "timeout", memUsed: 90 << 20, frontend: true},
	{fn: Checkout, instance: "checkout-a", at: 190 * time.Second, handler: 35 * time.Millisecond, memUsed: 84 << 20},
	{fn: Checkout, instance: "checkout-b", at: 250 * time.Second, handler: 55 * time.Millisecond, cold: true, initMs: 150, memUsed: 79 << 20, frontend: true, payment: true},
	{fn: Thumbnail, instance: "thumbnail-a", at: 30 * time.Second, handler: 500 * time.Millisecond, cold: true, initMs: 400, memUsed: 300 << 20},
	{fn: Thumbnail, instance: "thumbnail-a", at: 90 * time.Second, handler: 700 * time.Millisecond, memUsed: 350 << 20},
	{fn: Thumbnail, instance: "thumbnail-a", at: 150 * time.Second, handler: 1200 * time.Millisecond, errorType: "out_of_memory", memUsed: 512 << 20},
	{fn: Report, instance: "report-a", at: 300 * time.Second, handler: 1400 * time.Millisecond, cold: true, initMs: 80, memUsed: 60 << 20},
}

// Expected is what the data set holds per function.
type Expected struct {
	Invocations, ColdStarts, Timeouts, Errors int
}

// Dataset describes the spans Seed sent.
type Dataset struct {
	// Base is the start of the data set, on a 10-minute boundary; every span
	// lies in [Base, Base+6m).
	Base time.Time
	// From and To bound the data set with a margin: a query window that
	// holds all of it.
	From, To time.Time
	// GoldenTraceID is the cold-start checkout trace called from the
	// frontend that calls payments.
	GoldenTraceID string
	// TimeoutTraceID is the checkout invocation that timed out.
	TimeoutTraceID string
	// ColdStartTraceIDs are the traces holding a cold start.
	ColdStartTraceIDs []string
	// Functions maps function name to what it should show.
	Functions map[string]Expected
	// Spans is the number of spans sent.
	Spans int
	// TraceSpans is the number of spans of each trace.
	TraceSpans map[string]int
}

// TraceID is the id of the k-th invocation's trace.
func TraceID(k int) string { return fmt.Sprintf("c01d7ace%024x", k+1) }

func spanID(k, j int) string { return fmt.Sprintf("%02x%014x", j+1, k+1) }

// Seed sends the data set to Coldtrace's OTLP/gRPC receiver with the
// OpenTelemetry SDK's exporter, then waits until the API serves all of it.
// Coldtrace acknowledges spans once they are safe in its spool and stores
// them shortly after; the span table, the trace-id lookup and the function
// rollup are filled one after the other, so each is waited for.
// Timestamps are recent, inside the retention.
func (s *Server) Seed(ctx context.Context) (Dataset, error) {
	ds, err := s.send(ctx)
	if err != nil {
		return ds, err
	}
	if err := s.waitStored(ctx, uint64(ds.Spans)); err != nil {
		return ds, err
	}
	for id, n := range ds.TraceSpans {
		if err := s.waitTrace(ctx, id, n); err != nil {
			return ds, err
		}
	}
	invocations := 0
	for _, e := range ds.Functions {
		invocations += e.Invocations
	}
	return ds, s.waitInvocations(ctx, ds.From, ds.To, invocations)
}

// exporter is an OTLP/gRPC exporter to the server, with its token.
func (s *Server) exporter(ctx context.Context) (*otlptrace.Exporter, error) {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(s.OTLPGRPCAddr), otlptracegrpc.WithInsecure()}
	if s.Token != "" {
		opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + s.Token}))
	}
	return otlptracegrpc.New(ctx, opts...)
}

func (s *Server) send(ctx context.Context) (Dataset, error) {
	// On a 10-minute boundary, so that metric steps of up to 10 minutes
	// fall at the same offsets from it on every run.
	base := time.Now().UTC().Truncate(10 * time.Minute).Add(-30 * time.Minute)
	ds := Dataset{
		Base: base, From: base.Add(-5 * time.Minute), To: base.Add(15 * time.Minute),
		GoldenTraceID: TraceID(0), TimeoutTraceID: TraceID(2),
		Functions: map[string]Expected{}, TraceSpans: map[string]int{},
	}
	var spans tracetest.SpanStubs
	for k, inv := range invocations {
		trace := inv.spans(k, base)
		spans = append(spans, trace...)
		ds.TraceSpans[TraceID(k)] = len(trace)
		e := ds.Functions[inv.fn.Name]
		e.Invocations++
		if inv.cold {
			e.ColdStarts++
			ds.ColdStartTraceIDs = append(ds.ColdStartTraceIDs, TraceID(k))
		}
		if inv.errorType != "" {
			e.Errors++
		}
		if inv.errorType == "timeout" {
			e.Timeouts++
		}
		ds.Functions[inv.fn.Name] = e
	}
	ds.Spans = len(spans)
	exp, err := s.exporter(ctx)
	if err != nil {
		return ds, fmt.Errorf("otlp exporter: %w", err)
	}
	defer exp.Shutdown(context.Background())
	if err := exp.ExportSpans(ctx, spans.Snapshots()); err != nil {
		return ds, fmt.Errorf("exporting %d spans to %s: %w", len(spans), s.OTLPGRPCAddr, err)
	}
	return ds, nil
}

var (
	runtimeScope  = instrumentation.Scope{Name: "coldtrace.runtime", Version: "0.1.0"}
	appScope      = instrumentation.Scope{Name: "shop/checkout", Version: "1.4.2"}
	frontendScope = instrumentation.Scope{Name: "net/http", Version: "0.60.0"}
)

func serviceResource(name string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", name))
}

func (inv invocation) resource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", inv.fn.Name),
		attribute.String("faas.name", inv.fn.Name),
		attribute.String("faas.version", inv.fn.Version),
		attribute.String("faas.instance", inv.instance),
		attribute.Int64("faas.max_memory", inv.fn.MemoryBytes),
		attribute.String("cloud.provider", "coldtrace"),
	)
}

// spans are the spans of the k-th invocation's trace.
func (inv invocation) spans(k int, base time.Time) tracetest.SpanStubs {
	traceID, _ := trace.TraceIDFromHex(TraceID(k))
	sc := func(j int) trace.SpanContext {
		id, _ := trace.SpanIDFromHex(spanID(k, j))
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: id, TraceFlags: trace.FlagsSampled})
	}
	start := base.Add(inv.at)
	initDur := time.Duration(inv.initMs * float64(time.Millisecond))
	if !inv.cold {
		initDur = 0
	}
	// Init starts a millisecond into the invocation so that every span of
	// a trace has its own start time and the trace's order is stable.
	const initOffset = time.Millisecond
	invDur := inv.handler
	if inv.cold {
		invDur += initOffset + initDur
	}
	billedMs := (invDur + time.Millisecond - 1) / time.Millisecond

	var out tracetest.SpanStubs
	var parent trace.SpanContext
	if inv.frontend {
		parent = sc(0)
		out = append(out, tracetest.SpanStub{
			Name: "GET /" + inv.fn.Name, SpanContext: parent, SpanKind: trace.SpanKindServer,
			StartTime: start.Add(-5 * time.Millisecond), EndTime: start.Add(invDur + 5*time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("http.request.method", "GET"),
				attribute.String("http.route", "/"+inv.fn.Name),
				attribute.Int("http.response.status_code", map[bool]int{true: 504, false: 200}[inv.errorType == "timeout"]),
			},
			Resource: serviceResource(FrontendService), InstrumentationScope: frontendScope,
		})
	}
	invCtx := sc(1)
	attrs := []attribute.KeyValue{
		attribute.String("faas.invocation_id", fmt.Sprintf("inv-%04d", k+1)),
		attribute.String("faas.trigger", inv.fn.Trigger),
		attribute.Bool("faas.coldstart", inv.cold),
		attribute.Int64("coldtrace.billed_duration_ms", int64(billedMs)),
		attribute.Int64("coldtrace.max_memory_used_bytes", inv.memUsed),
		attribute.Int64("coldtrace.timeout_ms", inv.fn.TimeoutMs),
	}
	if inv.cold {
		attrs = append(attrs, attribute.Float64("coldtrace.init_duration_ms", inv.initMs))
	}
	status := sdktrace.Status{Code: codes.Unset}
	if inv.errorType != "" {
		attrs = append(attrs, attribute.String("error.type", inv.errorType))
		status = sdktrace.Status{Code: codes.Error, Description: "invocation failed: " + inv.errorType}
	}
	stub := tracetest.SpanStub{
		Name: inv.fn.Name, SpanContext: invCtx, Parent: parent, SpanKind: inv.fn.Kind,
		StartTime: start, EndTime: start.Add(invDur), Attributes: attrs, Status: status,
		Resource: inv.resource(), InstrumentationScope: runtimeScope,
	}
	if k == 0 {
		// The golden trace also carries an event and a link, so the
		// frame's logs and references are exercised.
		stub.Events = []sdktrace.Event{{
			Name: "cart loaded", Time: start.Add(initDur + 10*time.Millisecond),
			Attributes: []attribute.KeyValue{attribute.Int("cart.items", 3), attribute.Bool("cart.cached", false)},
		}}
		upstream, _ := trace.TraceIDFromHex("0123456789abcdef0123456789abcdef")
		upstreamSpan, _ := trace.SpanIDFromHex("0123456789abcdef")
		stub.Links = []sdktrace.Link{{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: upstream, SpanID: upstreamSpan}),
			Attributes:  []attribute.KeyValue{attribute.String("link.reason", "retry of")},
		}}
	}
	out = append(out, stub)
	if inv.cold {
		out = append(out, tracetest.SpanStub{
			Name: "init", SpanContext: sc(2), Parent: invCtx, SpanKind: trace.SpanKindInternal,
			StartTime: start.Add(initOffset), EndTime: start.Add(initOffset + initDur),
			Resource: inv.resource(), InstrumentationScope: runtimeScope,
		})
	}
	if inv.payment {
		callStart := start.Add(initDur + 15*time.Millisecond)
		out = append(out,
			tracetest.SpanStub{
				Name: "POST /charge", SpanContext: sc(3), Parent: invCtx, SpanKind: trace.SpanKindClient,
				StartTime: callStart, EndTime: callStart.Add(30 * time.Millisecond),
				Attributes: []attribute.KeyValue{attribute.String("http.request.method", "POST"), attribute.Int("http.response.status_code", 200)},
				Resource:   inv.resource(), InstrumentationScope: appScope,
			},
			tracetest.SpanStub{
				Name: "charge", SpanContext: sc(4), Parent: sc(3), SpanKind: trace.SpanKindServer,
				StartTime: callStart.Add(2 * time.Millisecond), EndTime: callStart.Add(27 * time.Millisecond),
				Attributes: []attribute.KeyValue{attribute.String("payment.provider", "acme-pay")},
				Resource:   serviceResource(PaymentsService), InstrumentationScope: appScope,
			})
	}
	return out
}

// SendLargeTrace sends one trace of n spans (an invocation span and n-1
// children of it, each with a handful of attributes) and waits until
// Coldtrace has stored them; it returns the trace id. For benchmarks.
func (s *Server) SendLargeTrace(ctx context.Context, n int, traceID string) error {
	tid, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		return err
	}
	before, err := s.spanCount(ctx)
	if err != nil {
		return err
	}
	inv := invocations[0]
	res := inv.resource()
	start := time.Now().Add(-10 * time.Minute)
	sc := func(j int) trace.SpanContext {
		id, _ := trace.SpanIDFromHex(fmt.Sprintf("%016x", j+1))
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: id, TraceFlags: trace.FlagsSampled})
	}
	spans := make(tracetest.SpanStubs, 0, n)
	spans = append(spans, tracetest.SpanStub{
		Name: inv.fn.Name, SpanContext: sc(0), SpanKind: trace.SpanKindServer,
		StartTime: start, EndTime: start.Add(time.Duration(n) * time.Millisecond),
		Attributes: []attribute.KeyValue{attribute.String("faas.trigger", "http"), attribute.Bool("faas.coldstart", false)},
		Resource:   res, InstrumentationScope: runtimeScope,
	})
	for j := 1; j < n; j++ {
		at := start.Add(time.Duration(j) * time.Millisecond)
		spans = append(spans, tracetest.SpanStub{
			Name: fmt.Sprintf("SELECT item %d", j%50), SpanContext: sc(j), Parent: sc(0), SpanKind: trace.SpanKindClient,
			StartTime: at, EndTime: at.Add(800 * time.Microsecond),
			Attributes: []attribute.KeyValue{
				attribute.String("db.system", "postgresql"),
				attribute.String("db.statement", "SELECT * FROM items WHERE id = $1"),
				attribute.Int("db.rows", j%7),
				attribute.Bool("cache.hit", j%3 == 0),
			},
			Resource: res, InstrumentationScope: appScope,
		})
	}
	exp, err := s.exporter(ctx)
	if err != nil {
		return err
	}
	defer exp.Shutdown(context.Background())
	// In batches, as an SDK's batch processor would send them.
	snaps := spans.Snapshots()
	for i := 0; i < len(snaps); i += 1000 {
		if err := exp.ExportSpans(ctx, snaps[i:min(i+1000, len(snaps))]); err != nil {
			return fmt.Errorf("exporting spans: %w", err)
		}
	}
	if err := s.waitStored(ctx, before+uint64(n)); err != nil {
		return err
	}
	return s.waitTrace(ctx, traceID, n)
}
