package ingest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// serverlessCases are span attributes (OTLP/JSON key-values) that test
// the typed columns' rules: wrong types, strings that parse or do not,
// a key given twice, values cut by the limits.
var serverlessCases = []string{
	`{"key":"faas.trigger","value":{"stringValue":"http"}},{"key":"faas.coldstart","value":{"boolValue":true}},
	 {"key":"coldtrace.init_duration_ms","value":{"doubleValue":41.5}},{"key":"coldtrace.billed_duration_ms","value":{"intValue":"292"}},
	 {"key":"coldtrace.max_memory_used_bytes","value":{"intValue":"103809024"}},{"key":"coldtrace.timeout_ms","value":{"intValue":"3000"}},
	 {"key":"error.type","value":{"stringValue":"timeout"}}`,
	`{"key":"faas.invocation_id","value":{"stringValue":"r-1"}},{"key":"faas.coldstart","value":{"stringValue":"1"}},
	 {"key":"coldtrace.init_duration_ms","value":{"stringValue":"3.25"}},{"key":"coldtrace.billed_duration_ms","value":{"doubleValue":12.9}},
	 {"key":"coldtrace.timeout_ms","value":{"stringValue":"12.5"}},{"key":"coldtrace.max_memory_used_bytes","value":{"intValue":"-5"}}`,
	`{"key":"faas.trigger","value":{"intValue":"7"}},{"key":"faas.coldstart","value":{"intValue":"1"}},
	 {"key":"coldtrace.init_duration_ms","value":{"boolValue":true}},{"key":"coldtrace.billed_duration_ms","value":{"stringValue":"17"}},
	 {"key":"error.type","value":{"intValue":"500"}},{"key":"coldtrace.timeout_ms","value":{"doubleValue":1e300}}`,
	`{"key":"faas.trigger","value":{"stringValue":"timer"}},{"key":"faas.coldstart","value":{"boolValue":false}},
	 {"key":"faas.coldstart","value":{"boolValue":true}},{"key":"error.type","value":{"stringValue":"crash"}},
	 {"key":"error.type","value":{"intValue":"2"}}`,
	`{"key":"faas.coldstart","value":{"stringValue":"True"}},{"key":"coldtrace.init_duration_ms","value":{"stringValue":"NaN"}},
	 {"key":"coldtrace.billed_duration_ms","value":{"stringValue":" 5"}}`,
	`{"key":"pad.1","value":{"stringValue":"x"}},{"key":"pad.2","value":{"stringValue":"x"}},{"key":"pad.3","value":{"stringValue":"x"}},
	 {"key":"faas.trigger","value":{"stringValue":"http"}},{"key":"faas.coldstart","value":{"boolValue":true}}`,
	`{"key":"faas.trigger","value":{"stringValue":"http"}},{"key":"error.type","value":{"stringValue":"out_of_memory_and_then_some"}},
	 {"key":"coldtrace.billed_duration_ms","value":{"stringValue":"123456789"}}`,
	``,
}

// serverlessResources are resources for the cases above.
var serverlessResources = []string{
	`{"key":"service.name","value":{"stringValue":"fn"}},{"key":"faas.name","value":{"stringValue":"fn"}},
	 {"key":"faas.version","value":{"stringValue":"2"}},{"key":"faas.instance","value":{"stringValue":"i-1"}},
	 {"key":"faas.max_memory","value":{"intValue":"134217728"}}`,
	`{"key":"service.name","value":{"stringValue":"fn2"}},{"key":"faas.name","value":{"stringValue":"fn2"}},
	 {"key":"faas.version","value":{"intValue":"3"}},{"key":"faas.max_memory","value":{"stringValue":"268435456"}}`,
	`{"key":"service.name","value":{"stringValue":"web"}},{"key":"faas.max_memory","value":{"doubleValue":1.5e8}}`,
}

func serverlessTraces(t *testing.T) ptrace.Traces {
	t.Helper()
	now := time.Now().UnixNano()
	var res []string
	for r, attrs := range serverlessResources {
		var spans []string
		for i, c := range serverlessCases {
			spans = append(spans, fmt.Sprintf(`{"traceId":"%032x","spanId":"%016x","name":"case-%d-%d",
				"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[%s]}`,
				r+1, r*100+i+1, r, i, now, now+1000, c))
		}
		res = append(res, `{"resource":{"attributes":[`+attrs+`]},"scopeSpans":[{"spans":[`+strings.Join(spans, ",")+`]}]}`)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(`{"resourceSpans":[` + strings.Join(res, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return td
}

// storedServerless reads every span of table: the typed columns as
// stored, and as derived from the stored attributes.
func storedServerless(t *testing.T, c *chclient.Client, table string) (stored, derived map[string]schema.Serverless) {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT SpanName, SpanAttributes, SpanAttributeTypes, ResourceAttributes, ResourceAttributeTypes,
		FunctionName, FunctionVersion, FaasInstance, MemoryLimitBytes, FaasTrigger, IsInvocation, ColdStart, ErrorType,
		InitDurationMs, BilledDurationMs, MaxMemoryUsedBytes, TimeoutMs FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored, derived = map[string]schema.Serverless{}, map[string]schema.Serverless{}
	for rows.Next() {
		var (
			name     string
			span, re schema.AttributeMaps
			s        schema.Serverless
		)
		if err := rows.Scan(&name, &span.Values, &span.Types, &re.Values, &re.Types,
			&s.Name, &s.Version, &s.Instance, &s.MemoryLimitBytes, &s.Trigger, &s.IsInvocation, &s.ColdStart, &s.ErrorType,
			&s.InitDurationMs, &s.BilledDurationMs, &s.MaxMemoryUsedBytes, &s.TimeoutMs); err != nil {
			t.Fatal(err)
		}
		stored[name], derived[name] = s, schema.ServerlessOf(span, schema.FunctionOf(re))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return stored, derived
}

// A span read derives the typed serverless columns from the attributes
// it reads instead of reading the columns (schema.Serverless), so for
// every span ingest stores, the columns must be exactly what the stored
// attributes give: with wrong types, a key given twice, and attributes
// the limits dropped or cut.
func TestTypedColumnsAreTheStoredAttributes(t *testing.T) {
	ctx := context.Background()
	client, o := migrated(t)
	td := serverlessTraces(t)
	lim := DefaultConfig().Limits
	cut := Limits{MaxAttributes: 4, MaxValueLength: 12}
	if err := newClickHouseWriter(client, o).Write(ctx, []*rows{toRows(td, "", lim), toRows(renamed(td, "cut-"), "", cut)}, uniqueToken()); err != nil {
		t.Fatal(err)
	}
	stored, derived := storedServerless(t, client, o.Table(schema.TracesTable))
	if want := 2 * len(serverlessCases) * len(serverlessResources); len(stored) != want {
		t.Fatalf("%d spans stored, want %d", len(stored), want)
	}
	for name, s := range stored {
		if !sameServerless(s, derived[name]) {
			t.Errorf("%s: stored %+v, derived %+v", name, s, derived[name])
		}
	}
	// The rules themselves, on spans of the first resource.
	for name, want := range map[string]schema.Serverless{
		"case-0-0": {Function: schema.Function{Name: "fn", Version: "2", Instance: "i-1", MemoryLimitBytes: 128 << 20},
			Trigger: "http", IsInvocation: true, ColdStart: true, ErrorType: "timeout", InitDurationMs: 41.5,
			BilledDurationMs: 292, MaxMemoryUsedBytes: 99 << 20, TimeoutMs: 3000},
		"case-0-1": {Function: schema.Function{Name: "fn", Version: "2", Instance: "i-1", MemoryLimitBytes: 128 << 20},
			IsInvocation: true, ColdStart: true, InitDurationMs: 3.25, BilledDurationMs: 12},
		"case-0-3": {Function: schema.Function{Name: "fn", Version: "2", Instance: "i-1", MemoryLimitBytes: 128 << 20},
			Trigger: "timer", IsInvocation: true, ColdStart: true, ErrorType: "2"},
		"case-1-0": {Function: schema.Function{Name: "fn2", Version: "3", MemoryLimitBytes: 256 << 20},
			Trigger: "http", IsInvocation: true, ColdStart: true, ErrorType: "timeout", InitDurationMs: 41.5,
			BilledDurationMs: 292, MaxMemoryUsedBytes: 99 << 20, TimeoutMs: 3000},
		"case-2-0": {Function: schema.Function{MemoryLimitBytes: 150000000}, Trigger: "http", ColdStart: true,
			ErrorType: "timeout", InitDurationMs: 41.5, BilledDurationMs: 292, MaxMemoryUsedBytes: 99 << 20, TimeoutMs: 3000},
		// The limit of 4 attributes kept the pads and the trigger.
		"cut-case-0-5": {Function: schema.Function{Name: "fn", Version: "2", Instance: "i-1"},
			Trigger: "http", IsInvocation: true},
	} {
		if got := stored[name]; got != want {
			t.Errorf("%s: stored %+v, want %+v", name, got, want)
		}
	}
}

// Rows the OpenTelemetry exporter writes carry no attribute types: their
// typed columns come from the DEFAULT expressions, which must agree with
// the derivation for the values the exporter writes (bools as "true",
// numbers in decimal).
func TestTypedColumnDefaultsAgreeWithTheDerivation(t *testing.T) {
	ctx := context.Background()
	client, o := migrated(t)
	td := serverlessTraces(t)
	stringified := toRows(td, "", DefaultConfig().Limits)
	w := newClickHouseWriter(client, o)
	if err := w.Write(ctx, []*rows{stringified}, uniqueToken()); err != nil {
		t.Fatal(err)
	}
	// Copy the spans as the exporter would write them: its columns only.
	exporter := o.Table("exporter_copy")
	if err := client.Exec(ctx, "CREATE TABLE "+exporter+" AS "+o.Table(schema.TracesTable)); err != nil {
		t.Fatal(err)
	}
	cols := "Timestamp, TraceId, SpanId, SpanName, ServiceName, ResourceAttributes, SpanAttributes"
	if err := client.Exec(ctx, "INSERT INTO "+exporter+" ("+cols+") SELECT "+cols+" FROM "+o.Table(schema.TracesTable)); err != nil {
		t.Fatal(err)
	}
	stored, derived := storedServerless(t, client, exporter)
	// The cases whose values the exporter writes as Coldtrace does.
	for _, name := range []string{"case-0-0", "case-1-0", "case-2-0", "case-0-7", "case-1-7", "case-2-7"} {
		s, ok := stored[name]
		if !ok {
			t.Fatalf("%s not stored", name)
		}
		if s != derived[name] {
			t.Errorf("%s: DEFAULTs %+v, derived %+v", name, s, derived[name])
		}
	}
	if s := stored["case-0-0"]; !s.IsInvocation || !s.ColdStart || s.BilledDurationMs != 292 || s.MemoryLimitBytes != 128<<20 {
		t.Errorf("the DEFAULTs did not fill the columns: %+v", s)
	}
}

// sameServerless compares a and b, NaN equal to NaN.
func sameServerless(a, b schema.Serverless) bool {
	if math.IsNaN(a.InitDurationMs) && math.IsNaN(b.InitDurationMs) {
		a.InitDurationMs, b.InitDurationMs = 0, 0
	}
	return a == b
}

// migrated is a test database with the schema.
func migrated(t *testing.T) (*chclient.Client, schema.Options) {
	t.Helper()
	client := chtest.Client(t)
	o := schema.Options{Database: client.Database, Retention: 24 * time.Hour}
	if err := schema.Migrate(context.Background(), client, o, nil); err != nil {
		t.Fatal(err)
	}
	return client, o
}

// renamed prefixes every span name of a copy of td.
func renamed(td ptrace.Traces, prefix string) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	rss := out.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				spans.At(k).SetName(prefix + spans.At(k).Name())
				id := spans.At(k).SpanID()
				id[0] = 0xcc
				spans.At(k).SetSpanID(id)
			}
		}
	}
	return out
}
