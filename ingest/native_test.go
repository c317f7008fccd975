package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// fullSpans is an OTLP/JSON request using every column: events, links,
// typed attributes, status, trace state, FaaS attributes.
func fullSpans(n int) ptrace.Traces {
	now := time.Now().UnixNano()
	var spans string
	for i := 0; i < n; i++ {
		if i > 0 {
			spans += ","
		}
		spans += fmt.Sprintf(`{"traceId":"%032x","spanId":"%016x","parentSpanId":"%016x","traceState":"a=%d","name":"op-%d","kind":%d,
			"startTimeUnixNano":"%d","endTimeUnixNano":"%d",
			"attributes":[{"key":"faas.trigger","value":{"stringValue":"http"}},{"key":"faas.coldstart","value":{"boolValue":%v}},
				{"key":"coldtrace.init_duration_ms","value":{"doubleValue":%d.5}},{"key":"coldtrace.billed_duration_ms","value":{"intValue":"%d"}},
				{"key":"error.type","value":{"stringValue":"%s"}},{"key":"arr","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}],
			"events":[{"timeUnixNano":"%d","name":"ev","attributes":[{"key":"k","value":{"stringValue":"v%d"}}]},{"timeUnixNano":"%d","name":"ev2"}],
			"links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","traceState":"l=1","attributes":[{"key":"lk","value":{"intValue":"%d"}}]}],
			"status":{"code":%d,"message":"m%d"}}`,
			i/3+1, i+1, i/3+100, i, i, i%5, now+int64(i), now+int64(i)+1000, i%2 == 0, i, i, []string{"", "timeout"}[i%2],
			now+int64(i)+10, i, now+int64(i)+20, i, i%3, i)
	}
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"fn"}},{"key":"faas.name","value":{"stringValue":"fn"}},
		{"key":"faas.version","value":{"stringValue":"2"}},{"key":"faas.instance","value":{"stringValue":"i-1"}},{"key":"faas.max_memory","value":{"intValue":"134217728"}}]},
		"scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[` + spans + `]}]}]}`
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(body))
	if err != nil {
		panic(err)
	}
	return td
}

// The Native encoder (HTTP) and clickhouse-go's batch API (native
// protocol) must store exactly the same rows.
func TestNativeEncoderMatchesBatchAPI(t *testing.T) {
	client := chtest.Client(t)
	ctx := context.Background()
	tables := map[string]schema.Options{}
	blocks := []*rows{toRows(fullSpans(50), "tenant-x", DefaultConfig().Limits), toRows(fullSpans(3), "", DefaultConfig().Limits)}
	for _, path := range []string{"native", "batch"} {
		o := schema.Options{Database: client.Database + "_" + path, Retention: 24 * time.Hour}
		if err := schema.Migrate(ctx, client, o, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+o.Database+"`") })
		w := newClickHouseWriter(client, o)
		if path == "batch" {
			w.batchOnly.Store(true)
		}
		if err := w.Write(ctx, blocks, uniqueToken()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tables[path] = o
	}
	var n, diff uint64
	cols := "* EXCEPT (Timestamp), toUnixTimestamp64Nano(Timestamp), arrayMap(x -> toUnixTimestamp64Nano(x), Events.Timestamp)"
	q := fmt.Sprintf("SELECT count() FROM (SELECT %s FROM %s EXCEPT SELECT %s FROM %s)", cols, tables["native"].Table(schema.TracesTable), cols, tables["batch"].Table(schema.TracesTable))
	if err := client.QueryRow(ctx, q).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if err := client.QueryRow(ctx, "SELECT count() FROM "+tables["native"].Table(schema.TracesTable)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		for _, c := range schema.InsertColumns {
			var d uint64
			cq := fmt.Sprintf("SELECT count() FROM (SELECT TraceId, SpanId, toString(`%s`) FROM %s EXCEPT SELECT TraceId, SpanId, toString(`%s`) FROM %s)", c, tables["native"].Table(schema.TracesTable), c, tables["batch"].Table(schema.TracesTable))
			if err := client.QueryRow(ctx, cq).Scan(&d); err != nil {
				t.Fatal(err)
			}
			if d > 0 {
				var a, b string
				client.QueryRow(ctx, fmt.Sprintf("SELECT toString(`%s`) FROM %s ORDER BY SpanId LIMIT 1", c, tables["native"].Table(schema.TracesTable))).Scan(&a)
				client.QueryRow(ctx, fmt.Sprintf("SELECT toString(`%s`) FROM %s ORDER BY SpanId LIMIT 1", c, tables["batch"].Table(schema.TracesTable))).Scan(&b)
				t.Errorf("column %s differs in %d rows: native %q, batch %q", c, d, a, b)
			}
		}
	}
	if n != 53 || diff != 0 {
		t.Fatalf("native path stored %d rows, %d of them differ from the batch path's", n, diff)
	}
}

func BenchmarkEncode(b *testing.B) {
	r := toRows(fullSpans(2000), "", DefaultConfig().Limits)
	b.Run("native", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := encodeNative([]*rows{r}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*r.len()), "ns/span")
	})
}

// BenchmarkToRows is the conversion of OTLP spans into column rows:
// attributes stringified, typed columns derived, limits applied.
func BenchmarkToRows(b *testing.B) {
	td := fullSpans(2000)
	lim := DefaultConfig().Limits
	b.ReportAllocs()
	for b.Loop() {
		toRows(td, "", lim)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*td.SpanCount()), "ns/span")
}
