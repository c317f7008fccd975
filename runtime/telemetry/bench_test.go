package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// BenchmarkInvocationSpan is the host's per-invocation tracing work: start
// the span, format the headers for the function, finish it, and export it
// (to an OTLP/HTTP endpoint that discards what it gets).
func BenchmarkInvocationSpan(b *testing.B) {
	tel := exportingTo(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	tracer := tel.Tracer(Resource{Function: "f", Version: "1", Instance: "i", MemoryBytes: 128 << 20})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inv := Invocation{Tracer: tracer, Function: "f", Kind: trace.SpanKindServer,
			RequestID: "0f6f5a4e-2c65-4d4f-9a57-5d4cbbd5e5c1", Trigger: TriggerOther, Start: time.Now(), Timeout: 3 * time.Second}
		ctx, span := StartInvocation(inv)
		PropagationHeaders(span.SpanContext())
		FinishInvocation(ctx, inv, span, Outcome{Ran: true, Duration: 300 * time.Microsecond, MaxMemory: 40 << 20, End: time.Now()})
	}
	b.StopTimer()
	tel.Flush(context.Background())
}

// exportingTo starts a Telemetry exporting to an OTLP/HTTP endpoint served
// by sink, both stopped when tb ends.
func exportingTo(tb testing.TB, sink http.Handler) *Telemetry {
	srv := httptest.NewServer(sink)
	tb.Cleanup(srv.Close)
	cfg := DefaultConfig()
	cfg.Endpoint = srv.URL
	tel, err := New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tel.Shutdown(context.Background()) })
	return tel
}
