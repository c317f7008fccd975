package frames

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

func largeTrace(n int) coldtrace.Trace {
	attr := func(k, typ, v string) coldtrace.Attribute {
		return coldtrace.Attribute{Key: k, Type: typ, Value: json.RawMessage(v)}
	}
	res := coldtrace.Resource{Attributes: []coldtrace.Attribute{
		attr("service.name", "string", `"checkout"`), attr("faas.name", "string", `"checkout"`),
		attr("faas.version", "string", `"v1"`), attr("faas.instance", "string", `"checkout-a"`),
		attr("faas.max_memory", "int", `268435456`), attr("cloud.provider", "string", `"coldtrace"`),
	}}
	t := coldtrace.Trace{TraceID: "b16b16b16b16b16b16b16b16b16b16b1"}
	for j := range n {
		t.Spans = append(t.Spans, coldtrace.Span{
			TraceID: t.TraceID, SpanID: fmt.Sprintf("%016x", j+1), ParentSpanID: "0000000000000001",
			Name: fmt.Sprintf("SELECT item %d", j%50), Kind: "client", Service: "checkout",
			StartTimeUnixNano: 1767225600000000000 + int64(j)*1e6, DurationNano: 800000,
			Status: coldtrace.SpanStatus{Code: "unset"},
			Attributes: []coldtrace.Attribute{
				attr("db.system", "string", `"postgresql"`), attr("db.statement", "string", `"SELECT * FROM items WHERE id = $1"`),
				attr("db.rows", "int", `3`), attr("cache.hit", "bool", `true`),
			},
			Resource: res, Scope: coldtrace.Scope{Name: "shop/checkout", Version: "1.4.2"},
		})
	}
	return t
}

// BenchmarkTraceFrame10k is the plugin's own share of opening a
// 10,000-span trace: building the trace frame and encoding it as Arrow.
func BenchmarkTraceFrame10k(b *testing.B) {
	t := largeTrace(10000)
	b.ReportAllocs()
	for b.Loop() {
		f, err := Trace(t)
		if err != nil {
			b.Fatal(err)
		}
		frames := data.Frames{f}
		if _, err := frames.MarshalArrow(); err != nil {
			b.Fatal(err)
		}
	}
}
