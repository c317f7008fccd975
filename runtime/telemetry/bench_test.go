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
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer sink.Close()
	cfg := DefaultConfig()
	cfg.Endpoint = sink.URL
	tel, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
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
