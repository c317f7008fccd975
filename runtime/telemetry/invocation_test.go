package telemetry

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// collecting starts a Telemetry exporting to an OTLP/HTTP endpoint that
// keeps what it gets; spans returns it by span name after flushing, with
// the bodies the endpoint could not decode, and fills resources with each
// span's resource.
func collecting(t *testing.T) (tel *Telemetry, spans func() (map[string]ptrace.Span, []string), resources map[pcommon.SpanID]pcommon.Map) {
	var (
		mu      sync.Mutex
		got     = ptrace.NewTraces()
		refused []string
	)
	resources = map[pcommon.SpanID]pcommon.Map{}
	tel = exportingTo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		mu.Lock()
		defer mu.Unlock()
		if err := req.UnmarshalProto(body); err != nil {
			refused = append(refused, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Traces().ResourceSpans().MoveAndAppendTo(got.ResourceSpans())
	}))
	return tel, func() (map[string]ptrace.Span, []string) {
		if err := tel.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		byName := map[string]ptrace.Span{}
		rss := got.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					s := sss.At(j).Spans().At(k)
					byName[s.Name()] = s
					resources[s.SpanID()] = rss.At(i).Resource().Attributes()
				}
			}
		}
		return byName, refused
	}, resources
}

// What the invocation span carries: ids under the caller's, its trace
// state, the contract's attributes, the resource (with the host's
// OTEL_RESOURCE_ATTRIBUTES, which the SDK's tracer provider merges in), the
// init child, and nothing for an unsampled caller.
func TestInvocationSpan(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=walk")
	tel, exported, spanResources := collecting(t)
	tracer := tel.Tracer(Resource{Function: "f", Version: "3", Instance: "i-1", MemoryBytes: 128 << 20})
	ts, _ := trace.ParseTraceState("vendor=v1")
	caller := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8}, Remote: true})
	t0 := time.Now()
	byCaller := map[string]trace.SpanContext{}
	for name, parent := range map[string]trace.SpanContext{"root": {}, "child": caller, "unsampled": unsampled} {
		inv := Invocation{Tracer: tracer, Parent: trace.ContextWithRemoteSpanContext(context.Background(), parent), Function: name,
			Kind: trace.SpanKindServer, RequestID: "rid-" + name, Trigger: TriggerHTTP, Start: t0, Timeout: 3 * time.Second,
			Attributes: []attribute.KeyValue{attribute.String("http.route", "/x")}}
		ctx, span := StartInvocation(inv)
		byCaller[name] = span.SpanContext()
		if want := name != "unsampled"; span.IsRecording() != want || span.SpanContext().IsSampled() != want {
			t.Errorf("%s: recording %v, sampled %v, want %v", name, span.IsRecording(), span.SpanContext().IsSampled(), want)
		}
		FinishInvocation(ctx, inv, span, Outcome{Cold: name == "child", InitStart: t0, InitEnd: t0.Add(5 * time.Millisecond), Ran: true,
			Duration: time.Millisecond, MaxMemory: 40 << 20, End: t0.Add(7 * time.Millisecond),
			Logs: []LogLine{{Time: t0.Add(6 * time.Millisecond), Stream: "stdout", Text: "hello"}}})
	}
	spans, refused := exported()
	if len(refused) > 0 {
		t.Fatal(refused)
	}
	if _, ok := spans["unsampled"]; ok || len(spans) != 3 {
		t.Fatalf("exported %v, want root, child and one init (the cold start's)", keys(spans))
	}
	u := byCaller["unsampled"]
	if u.TraceID() != unsampled.TraceID() || u.SpanID() == unsampled.SpanID() || !u.SpanID().IsValid() {
		t.Errorf("an unsampled caller's function must still get a child context: %v", u)
	}
	root, child := spans["root"], spans["child"]
	if root.TraceID() == child.TraceID() || !root.ParentSpanID().IsEmpty() || root.TraceID() != pcommon.TraceID(byCaller["root"].TraceID()) {
		t.Errorf("root span: trace %v parent %v", root.TraceID(), root.ParentSpanID())
	}
	if child.TraceID() != pcommon.TraceID(caller.TraceID()) || child.ParentSpanID() != pcommon.SpanID(caller.SpanID()) ||
		child.SpanID() != pcommon.SpanID(byCaller["child"].SpanID()) || child.TraceState().AsRaw() != "vendor=v1" {
		t.Errorf("child span: trace %v parent %v span %v state %q", child.TraceID(), child.ParentSpanID(), child.SpanID(), child.TraceState().AsRaw())
	}
	if child.Kind() != ptrace.SpanKindServer || child.StartTimestamp().AsTime() != t0.UTC() || child.EndTimestamp().AsTime() != t0.Add(7*time.Millisecond).UTC() {
		t.Errorf("child span: kind %v, %v to %v", child.Kind(), child.StartTimestamp(), child.EndTimestamp())
	}
	want := map[string]any{"faas.invocation_id": "rid-child", "faas.trigger": "http", AttrTimeoutMs: int64(3000), "faas.coldstart": true,
		"http.route": "/x", AttrInitDurationMs: 5.0, AttrBilledDurationMs: int64(6), AttrMaxMemoryUsed: int64(40 << 20)}
	if got := child.Attributes().AsRaw(); len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got, _ := child.Attributes().Get(k); got.AsRaw() != v {
			t.Errorf("%s = %v, want %v", k, got.AsRaw(), v)
		}
	}
	if child.Events().Len() != 1 || child.Events().At(0).Name() != "log" {
		t.Errorf("events %d", child.Events().Len())
	}
	if env, _ := spanResources[child.SpanID()].Get("deployment.environment.name"); env.Str() != "walk" {
		t.Errorf("resource %v, want OTEL_RESOURCE_ATTRIBUTES in it", spanResources[child.SpanID()].AsRaw())
	}
	if name, _ := spanResources[child.SpanID()].Get("faas.name"); name.Str() != "f" {
		t.Errorf("resource %v", spanResources[child.SpanID()].AsRaw())
	}
	init := spans[InitSpanName]
	if init.ParentSpanID() != child.SpanID() || init.TraceID() != child.TraceID() || init.Kind() != ptrace.SpanKindInternal {
		t.Errorf("init span: parent %v trace %v kind %v", init.ParentSpanID(), init.TraceID(), init.Kind())
	}
	if v, ok := init.Attributes().Get(AttrPrewarmed); ok {
		t.Errorf("the cold start's init is not pre-warmed: %v", v.AsRaw())
	}
}

// A pre-warmed instance's init is a root span of its own.
func TestPrewarmedInitIsARoot(t *testing.T) {
	tel, exported, _ := collecting(t)
	tracer := tel.Tracer(Resource{Function: "f", Version: "1", Instance: "i-2", MemoryBytes: 128 << 20})
	t0 := time.Now()
	RecordInit(context.Background(), tracer, t0, t0.Add(2*time.Millisecond), false, "", true)
	spans, _ := exported()
	init, ok := spans[InitSpanName]
	if !ok || !init.ParentSpanID().IsEmpty() || init.TraceID().IsEmpty() {
		t.Fatalf("pre-warmed init: %v", keys(spans))
	}
	if v, _ := init.Attributes().Get(AttrPrewarmed); !v.Bool() {
		t.Errorf("%s missing", AttrPrewarmed)
	}
	if v, _ := init.Attributes().Get(AttrInitDurationMs); v.Double() != 2 {
		t.Errorf("%s = %v", AttrInitDurationMs, v.AsRaw())
	}
}

// With tracing off no span is recorded, and the caller's context passes
// through to the function unchanged.
func TestTracingOffPassesTheCallersContext(t *testing.T) {
	tel, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	inv := Invocation{Tracer: tel.Tracer(Resource{Function: "f"}), Parent: trace.ContextWithRemoteSpanContext(context.Background(), caller),
		Function: "f", Start: time.Now()}
	ctx, span := StartInvocation(inv)
	if span.IsRecording() || !span.SpanContext().Equal(caller) {
		t.Fatalf("recording %v, context %v, want the caller's %v", span.IsRecording(), span.SpanContext(), caller)
	}
	FinishInvocation(ctx, inv, span, Outcome{End: time.Now()})
}
