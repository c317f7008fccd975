package telemetry

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// One span with bytes that are not UTF-8 (a function's binary output, a
// caller's %ff in a path) must not cost the spans exported with it.
func TestInvalidUTF8DoesNotLoseTheBatch(t *testing.T) {
	tel, exported, _ := collecting(t)
	tracer := tel.Tracer(Resource{Function: "f", Version: "1", MemoryBytes: 128 << 20})
	bad := "GET /fn/f/\xff\xfe"
	for _, name := range []string{"valid", bad} {
		inv := Invocation{Tracer: tracer, Function: name, Kind: trace.SpanKindServer, RequestID: "r-" + name,
			Trigger: TriggerHTTP, Start: time.Now(), Timeout: time.Second,
			Attributes: []attribute.KeyValue{attribute.String("url.path", name), attribute.StringSlice("list", []string{"ok", name})}}
		ctx, span := StartInvocation(inv)
		FinishInvocation(ctx, inv, span, Outcome{Ran: true, End: time.Now(), ErrorType: ErrHandler, ErrorMessage: name,
			Logs: []LogLine{{Time: time.Now(), Stream: "stdout", Text: "\x00\x80" + name}}})
	}
	names, refused := exported()
	if len(refused) > 0 {
		t.Fatalf("the receiver refused the batch: %v", refused)
	}
	repaired := "GET /fn/f/\uFFFD"
	if len(names) != 2 || names["valid"] == (ptrace.Span{}) || names[repaired] == (ptrace.Span{}) {
		t.Fatalf("exported spans %v, want valid and %q", keys(names), repaired)
	}
	s := names[repaired]
	if v, _ := s.Attributes().Get("url.path"); v.Str() != repaired {
		t.Errorf("url.path %q", v.Str())
	}
	if v, _ := s.Attributes().Get("list"); v.Slice().At(1).Str() != repaired {
		t.Errorf("list %v", v.AsRaw())
	}
	if s.Status().Message() != repaired {
		t.Errorf("status message %q", s.Status().Message())
	}
	if msg, _ := s.Events().At(0).Attributes().Get("message"); msg.Str() != "\x00\uFFFD"+repaired {
		t.Errorf("log event %q", msg.Str())
	}
	if v, _ := names["valid"].Attributes().Get("url.path"); v.Str() != "valid" {
		t.Errorf("the valid span changed: %v", names["valid"].Attributes().AsRaw())
	}
}

func keys(m map[string]ptrace.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
