package plugin_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// largeTraceSpans is the size of the trace the trace query benchmark
// reads: a busy invocation with many database calls.
const largeTraceSpans = 10000

const largeTraceID = "b16b16b16b16b16b16b16b16b16b16b1"

var sendLargeTrace = sync.OnceValue(func() error {
	return coldtraceSrv.SendLargeTrace(context.Background(), largeTraceSpans, largeTraceID)
})

// BenchmarkTraceQuery10k is what opening a 10,000-span trace in Explore
// costs the plugin end to end: the API call to a real Coldtrace (embedded
// ClickHouse), decoding, building the trace frame and encoding it for
// Grafana as Arrow, which is what goes over the plugin's gRPC.
func BenchmarkTraceQuery10k(b *testing.B) {
	if err := sendLargeTrace(); err != nil {
		b.Fatal(err)
	}
	b.Run("plugin", func(b *testing.B) {
		d := newDatasource(b, defaultSettings())
		q := dataQuery(map[string]any{"queryType": "trace", "traceId": largeTraceID})
		b.ReportAllocs()
		for b.Loop() {
			r := queryOne(b, d, q)
			if r.Error != nil {
				b.Fatal(r.Error)
			}
			if n := r.Frames[0].Rows(); n != largeTraceSpans {
				b.Fatalf("%d rows, want %d", n, largeTraceSpans)
			}
			if _, err := data.Frames(r.Frames).MarshalArrow(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The API call and JSON decoding alone, to tell Coldtrace's share
	// from the plugin's.
	b.Run("api-only", func(b *testing.B) {
		api, err := coldtrace.New(coldtrace.Config{URL: coldtraceSrv.URL}, http.DefaultClient)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			t, err := api.Trace(b.Context(), largeTraceID)
			if err != nil || len(t.Spans) != largeTraceSpans {
				b.Fatalf("error %v, %d spans", err, len(t.Spans))
			}
		}
	})
}
