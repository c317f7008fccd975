package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/coldtrace/coldtrace/internal/consumer"
)

// BenchmarkHTTPExport posts gzipped OTLP/HTTP protobuf requests of 512
// spans (the SDK's batch size) to a real receiver over loopback, with a
// consumer that drops them: the receiver's own cost per request (body
// admission and decompression, decoding, the answer).
func BenchmarkHTTPExport(b *testing.B) {
	cfg := DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "", "127.0.0.1:0"
	r, err := New(cfg, consumer.TracesFunc(func(context.Context, ptrace.Traces) error { return nil }), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Shutdown(context.Background()) })

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < 512; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID([16]byte{byte(i), 1})
		s.SetSpanID([8]byte{byte(i), 2})
		s.SetName(fmt.Sprintf("GET /items/%d", i%20))
		s.Attributes().PutStr("http.route", "/items/{id}")
		s.Attributes().PutInt("http.status_code", 200)
	}
	raw, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	url := "http://" + r.HTTPAddr() + TracesPath
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(gz.Bytes()))
		req.Header.Set("Content-Type", contentTypeProto)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
