package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
)

// sendWideTrace sends one trace of n spans, a root named root and its
// children, each with a few attributes (the shape of the web UI's
// 10,000-span end-to-end trace), and returns its id.
func sendWideTrace(tb testing.TB, addr string, n int, root string) string {
	tb.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		tb.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(n), sdktrace.WithMaxExportBatchSize(2000)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "batch-report"))))
	tr := tp.Tracer("bench")
	base := time.Now().Add(-10 * time.Minute)
	rctx, rootSpan := tr.Start(ctx, root, trace.WithTimestamp(base))
	for i := 1; i < n; i++ {
		st := base.Add(time.Duration(i) * time.Millisecond)
		_, sp := tr.Start(rctx, "query part", trace.WithTimestamp(st), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.Int("part.index", i), attribute.String("db.system", "clickhouse")))
		sp.End(trace.WithTimestamp(st.Add(time.Millisecond)))
	}
	rootSpan.End(trace.WithTimestamp(base.Add(time.Duration(n) * time.Millisecond)))
	if err := tp.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
	return rootSpan.SpanContext().TraceID().String()
}

// discardWriter is a ResponseWriter that keeps only the byte count.
type discardWriter struct {
	header http.Header
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *discardWriter) Flush()                      {}

// BenchmarkTraceResponse serves a 10,000-span trace by id, plain and
// compressed: the time per answer (ClickHouse read, JSON, compression)
// and the bytes sent.
//
//	go test ./query/server -run '^$' -bench TraceResponse -benchtime 20x
func BenchmarkTraceResponse(b *testing.B) {
	s := ingesttest.Start(b)
	id := sendWideTrace(b, s.GRPCAddr, 10_000, "nightly report")
	srv := apiHandler(b, s)
	for _, enc := range []string{"identity", "gzip", "zstd"} {
		want := enc
		if enc == "identity" {
			want = ""
		}
		b.Run(enc, func(b *testing.B) {
			var sent int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/traces/"+id, nil)
				req.Header.Set("Accept-Encoding", enc)
				w := &discardWriter{header: http.Header{}}
				srv.ServeHTTP(w, req)
				if got := w.header.Get("Content-Encoding"); got != want {
					b.Fatalf("Content-Encoding %q, want %q", got, want)
				}
				sent = w.n
			}
			b.ReportMetric(float64(sent), "body-bytes")
		})
	}
}
