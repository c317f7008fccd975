package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
)

// The fixture is sent once; every test reads it.
var (
	stack   *ingesttest.Stack
	fixture *sent
)

func setup(t *testing.T) (*sent, *ingesttest.Stack) {
	t.Helper()
	if fixture == nil {
		t.Fatal("fixture not loaded")
	}
	return fixture, stack
}

func TestAPI(t *testing.T) {
	stack = ingesttest.Start(t)
	fixture = sendFixture(t, stack)
	t.Run("TraceByID", testTraceByID)
	t.Run("TraceByIDHints", testTraceByIDHints)
	t.Run("Search", testSearch)
	t.Run("SearchPagination", testSearchPagination)
	t.Run("ServicesAndOperations", testServicesAndOperations)
	t.Run("Functions", testFunctions)
	t.Run("Timeseries", testTimeseries)
	t.Run("TimeseriesQuantiles", testTimeseriesQuantiles)
	t.Run("FunctionsAcrossHours", testFunctionsAcrossHours)
	t.Run("TracesSpreadOverDay", testTracesSpreadOverDay)
	t.Run("Instances", testInstances)
	t.Run("Dependencies", testDependencies)
	t.Run("Attributes", testAttributes)
	t.Run("Status", testStatus)
	t.Run("Tenant", testTenant)
	t.Run("HostileInput", testHostileInput)
	t.Run("Compression", testCompression)
	t.Run("Metrics", testMetrics)
	t.Run("Jaeger", testJaeger)
	t.Run("JaegerSearch", testJaegerSearch)
}

func hexTrace(sc trace.SpanContext) string { return sc.TraceID().String() }
func hexSpan(sc trace.SpanContext) string  { return sc.SpanID().String() }

// window is a query string covering the fixture.
func window(f *sent) string {
	return fmt.Sprintf("start=%d&end=%d", f.base.Add(-time.Minute).UnixNano(), f.base.Add(10*time.Minute).UnixNano())
}

func attr(t *testing.T, attrs []api.Attribute, key string) api.Attribute {
	t.Helper()
	for _, a := range attrs {
		if a.Key == key {
			return a
		}
	}
	t.Fatalf("attribute %q missing from %+v", key, attrs)
	return api.Attribute{}
}

func wantAttr(t *testing.T, attrs []api.Attribute, key, typ, value string) {
	t.Helper()
	a := attr(t, attrs, key)
	if a.Type != typ || string(a.Value) != value {
		t.Errorf("attribute %s = %s %s, want %s %s", key, a.Type, a.Value, typ, value)
	}
}

func testTraceByID(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var tr api.Trace
	decode(t, get(t, ts, "/api/v1/traces/"+hexTrace(f.coldTrace)), &tr)

	sum := tr.Summary
	if tr.TraceID != hexTrace(f.coldTrace) || sum.TraceID != tr.TraceID {
		t.Errorf("trace id %s / %s, want %s", tr.TraceID, sum.TraceID, hexTrace(f.coldTrace))
	}
	if sum.RootService != "api-gateway" || sum.RootOperation != "GET /orders/{id}" {
		t.Errorf("root %s %s", sum.RootService, sum.RootOperation)
	}
	if sum.StartTimeUnixNano != f.base.UnixNano() || !sum.StartTime.Equal(f.base) {
		t.Errorf("start %d, want %d", sum.StartTimeUnixNano, f.base.UnixNano())
	}
	if sum.DurationNano != uint64(900*time.Millisecond) || sum.SpanCount != 5 || sum.ErrorCount != 1 || !sum.ColdStart {
		t.Errorf("summary %+v", sum)
	}
	if strings.Join(sum.Services, ",") != "api-gateway,orders" || len(sum.ErrorTypes) != 0 {
		t.Errorf("services %v error types %v", sum.Services, sum.ErrorTypes)
	}
	wantCost := billedColdMs/1000.0*float64(memoryLimit)/(1<<30)*reader.DefaultPrices().PerGBSecond + 0.2/1e6
	if math.Abs(sum.CostUSD-wantCost) > 1e-12 {
		t.Errorf("cost %g, want %g", sum.CostUSD, wantCost)
	}

	want := []sentSpan{f.gatewayRoot, f.gatewayCall, f.invocation, f.init_, f.db}
	if len(tr.Spans) != len(want) {
		t.Fatalf("%d spans, want %d", len(tr.Spans), len(want))
	}
	kinds := map[trace.SpanKind]string{trace.SpanKindServer: "server", trace.SpanKindClient: "client", trace.SpanKindInternal: "internal"}
	byID := map[string]api.Span{}
	for i, sp := range tr.Spans {
		byID[sp.SpanID] = sp
		if i > 0 && sp.StartTimeUnixNano < tr.Spans[i-1].StartTimeUnixNano {
			t.Errorf("spans out of start order at %d", i)
		}
	}
	for _, w := range want {
		sp, ok := byID[hexSpan(w.ctx)]
		if !ok {
			t.Fatalf("span %s (%s) missing", hexSpan(w.ctx), w.name)
		}
		parent := ""
		if w.parent.IsValid() {
			parent = hexSpan(w.parent)
		}
		if sp.TraceID != hexTrace(f.coldTrace) || sp.ParentSpanID != parent || sp.Name != w.name || sp.Service != w.service || sp.Kind != kinds[w.kind] {
			t.Errorf("span %s: got trace %s parent %q name %q service %q kind %q; want parent %q name %q service %q kind %q",
				w.name, sp.TraceID, sp.ParentSpanID, sp.Name, sp.Service, sp.Kind, parent, w.name, w.service, kinds[w.kind])
		}
		if sp.StartTimeUnixNano != w.start.UnixNano() || !sp.StartTime.Equal(w.start) || sp.DurationNano != uint64(w.end.Sub(w.start)) ||
			sp.OffsetNano != w.start.Sub(f.base).Nanoseconds() {
			t.Errorf("span %s: start %d offset %d duration %d; want %d %d %d", w.name, sp.StartTimeUnixNano, sp.OffsetNano, sp.DurationNano,
				w.start.UnixNano(), w.start.Sub(f.base).Nanoseconds(), w.end.Sub(w.start).Nanoseconds())
		}
	}

	root := byID[hexSpan(f.gatewayRoot.ctx)]
	wantAttr(t, root.Attributes, "http.request.method", "string", `"GET"`)
	wantAttr(t, root.Attributes, "http.response.status_code", "int", `200`)
	wantAttr(t, root.Resource.Attributes, "service.name", "string", `"api-gateway"`)
	wantAttr(t, root.Resource.Attributes, "deployment.environment", "string", `"test"`)
	if root.Scope.Name != "net/http" || root.Scope.Version != "0.60.0" || root.Status.Code != "unset" || root.Faas != nil {
		t.Errorf("root scope %+v status %+v faas %+v", root.Scope, root.Status, root.Faas)
	}

	inv := byID[hexSpan(f.invocation.ctx)]
	wantAttr(t, inv.Attributes, "faas.coldstart", "bool", "true")
	wantAttr(t, inv.Attributes, "coldtrace.init_duration_ms", "double", "287.5")
	wantAttr(t, inv.Resource.Attributes, "faas.max_memory", "int", fmt.Sprint(memoryLimit))
	if inv.Faas == nil {
		t.Fatal("invocation span without faas")
	}
	wantFaas := api.Invocation{Function: "orders", Version: "3", Instance: "orders-3-a", Trigger: "http", ColdStart: true,
		InitDurationNano: uint64(initDurationMs * 1e6), BilledDurationNano: billedColdMs * 1e6, MaxMemoryUsedBytes: 60000000,
		MemoryLimitBytes: memoryLimit, TimeoutNano: 3e9, CostUSD: inv.Faas.CostUSD}
	if *inv.Faas != wantFaas || math.Abs(inv.Faas.CostUSD-wantCost) > 1e-12 {
		t.Errorf("faas %+v, want %+v (cost %g)", *inv.Faas, wantFaas, wantCost)
	}

	db := byID[hexSpan(f.db.ctx)]
	wantAttr(t, db.Attributes, "db.tables", "array", `["orders","items"]`)
	wantAttr(t, db.Attributes, "db.cost", "double", "1.5")
	wantAttr(t, db.Attributes, "db.cached", "bool", "false")
	if db.Status.Code != "error" || db.Status.Message != "slow query" {
		t.Errorf("db status %+v", db.Status)
	}
	if len(db.Events) != 1 || db.Events[0].Name != "rows fetched" || db.Events[0].TimeUnixNano != f.base.Add(600*time.Millisecond).UnixNano() {
		t.Fatalf("db events %+v", db.Events)
	}
	wantAttr(t, db.Events[0].Attributes, "rows", "string", `"3"`)

	// The timeout trace carries the link.
	var to api.Trace
	decode(t, get(t, ts, "/api/v1/traces/"+strings.ToUpper(hexTrace(f.timeoutTrace))), &to)
	if len(to.Spans) != 1 || len(to.Spans[0].Links) != 1 {
		t.Fatalf("timeout trace %+v", to)
	}
	l := to.Spans[0].Links[0]
	if l.TraceID != hexTrace(f.coldTrace) || l.SpanID != hexSpan(f.gatewayRoot.ctx) {
		t.Errorf("link %+v", l)
	}
	wantAttr(t, l.Attributes, "link.reason", "string", `"retry"`)
	if !slicesEqual(to.Summary.ErrorTypes, []string{"timeout"}) || to.Summary.ErrorCount != 1 || to.Summary.ColdStart {
		t.Errorf("timeout summary %+v", to.Summary)
	}
	if sp := to.Spans[0]; sp.Faas == nil || sp.Faas.ErrorType != "timeout" || sp.Status.Code != "error" || sp.Status.Message != "Task timed out after 3.00 seconds" {
		t.Errorf("timeout span %+v", sp)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func testTraceByIDHints(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	id := hexTrace(f.coldTrace)
	var tr api.Trace
	decode(t, get(t, ts, fmt.Sprintf("/api/v1/traces/%s?%s", id, window(f))), &tr)
	if len(tr.Spans) != 5 {
		t.Errorf("%d spans with hints", len(tr.Spans))
	}
	// Jaeger-style short ids are left-padded.
	short := strings.TrimLeft(id, "0")
	decode(t, get(t, ts, "/api/v1/traces/"+short), &tr)
	wantError(t, get(t, ts, "/api/v1/traces/0123456789abcdef0123456789abcdef"), http.StatusNotFound, api.CodeNotFound, "")

}

// TestTraceMissingFromLookup reads a trace that the trace-id lookup does
// not know (rows written past it, or its row lost): only the caller's
// time hints find it, on both trace routes.
func TestTraceMissingFromLookup(t *testing.T) {
	s := ingesttest.Start(t)
	ts := apiServer(t, s)
	ctx := context.Background()
	const id = "00000000000000000000000000c0ffee"
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	spans, lookup := s.Table(schema.TracesTable), s.Table(schema.TraceIDLookupTable)
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName) VALUES (fromUnixTimestamp64Nano(%d), '%s', '00000000000000a1', 'svc', 'root'), (fromUnixTimestamp64Nano(%d), '%s', '00000000000000a2', 'svc', 'child')",
			spans, at.UnixNano(), id, at.Add(time.Millisecond).UnixNano(), id),
		fmt.Sprintf("ALTER TABLE %s DELETE WHERE TraceId = '%s' SETTINGS mutations_sync = 2", lookup, id),
	} {
		if err := s.Client.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	wantError(t, get(t, ts, "/api/v1/traces/"+id), http.StatusNotFound, api.CodeNotFound, "")
	if r := get(t, ts, "/api/traces/"+id); r.status != http.StatusNotFound {
		t.Errorf("Jaeger read without hints: status %d, want 404", r.status)
	}
	var tr api.Trace
	decode(t, get(t, ts, fmt.Sprintf("/api/v1/traces/%s?start=%d&end=%d", id, at.Add(-time.Minute).UnixNano(), at.Add(time.Minute).UnixNano())), &tr)
	if len(tr.Spans) != 2 || tr.Spans[0].TraceID != id {
		t.Errorf("hinted read: %d spans", len(tr.Spans))
	}
	var traces []jTrace
	decodeJaeger(t, get(t, ts, fmt.Sprintf("/api/traces/%s?start=%d&end=%d", id, at.Add(-time.Minute).UnixMicro(), at.Add(time.Minute).UnixMicro())), &traces)
	if len(traces) != 1 || len(traces[0].Spans) != 2 {
		t.Errorf("Jaeger hinted read: %+v", traces)
	}
}

// A trace whose spans name parents it lacks, or repeat a span id, says so
// on both trace routes; a whole trace has no warnings, nor has one whose
// root is a caller's span Coldtrace never received.
func TestTraceWarnings(t *testing.T) {
	s := ingesttest.Start(t)
	ts := apiServer(t, s)
	ctx := context.Background()
	const broken, whole, remote, expired = "000000000000000000000000000000b1", "000000000000000000000000000000b2",
		"000000000000000000000000000000b3", "000000000000000000000000000000b4"
	at := time.Now().Add(-10 * time.Minute).UnixNano()
	row := func(trace, span, parent string, offset int) string {
		return fmt.Sprintf("(fromUnixTimestamp64Nano(%d), '%s', '%s', '%s', 'svc', 'op')", at+int64(offset), trace, span, parent)
	}
	if err := s.Client.Exec(ctx, fmt.Sprintf("INSERT INTO %s (Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, SpanName) VALUES %s",
		s.Table(schema.TracesTable), strings.Join([]string{
			row(broken, "00000000000000a1", "", 0), row(broken, "00000000000000a2", "00000000000000a1", 1),
			row(broken, "00000000000000a3", "00000000000000ff", 2), row(broken, "00000000000000a2", "00000000000000a1", 3),
			row(whole, "00000000000000c1", "", 0), row(whole, "00000000000000c2", "00000000000000c1", 1),
			row(remote, "00000000000000e1", "00000000000000aa", 0), row(remote, "00000000000000e2", "00000000000000e1", 1),
			row(expired, "00000000000000f1", "", 0), row(expired, "00000000000000f2", "00000000000000f1", 1),
			row(expired, "00000000000000f3", "00000000000000f1", 2),
		}, ", "))); err != nil {
		t.Fatal(err)
	}
	// The root of trace "expired" goes, as a trace crossing midnight loses
	// its first day: what is left looks like a trace with an outside
	// parent, but the lookup still counts the span that is gone.
	if err := s.Client.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DELETE WHERE SpanId = '00000000000000f1' SETTINGS mutations_sync = 2",
		s.Table(schema.TracesTable))); err != nil {
		t.Fatal(err)
	}
	var gone api.Trace
	decode(t, get(t, ts, "/api/v1/traces/"+expired), &gone)
	if len(gone.Warnings) != 1 || !strings.HasPrefix(gone.Warnings[0], "1 span of the 3 stored for this trace is gone") {
		t.Errorf("a trace that lost its root: warnings %q", gone.Warnings)
	}
	want := []string{"1 span names a parent span that is not in the trace", "1 span repeats the id of another span"}
	check := func(route string, warnings []string) {
		t.Helper()
		if len(warnings) != len(want) || !strings.HasPrefix(warnings[0], want[0]) || !strings.HasPrefix(warnings[1], want[1]) {
			t.Errorf("%s warnings %q, want %q…", route, warnings, want)
		}
	}
	var tr api.Trace
	decode(t, get(t, ts, "/api/v1/traces/"+broken), &tr)
	check("v1", tr.Warnings)
	var traces []jTrace
	decodeJaeger(t, get(t, ts, "/api/traces/"+broken), &traces)
	check("Jaeger", traces[0].Warnings)
	for _, id := range []string{whole, remote} {
		var wholeTrace api.Trace
		var wholeJaeger []jTrace
		decode(t, get(t, ts, "/api/v1/traces/"+id), &wholeTrace)
		decodeJaeger(t, get(t, ts, "/api/traces/"+id), &wholeJaeger)
		if wholeTrace.Warnings != nil || wholeJaeger[0].Warnings != nil {
			t.Errorf("warnings on whole trace %s: %q %q", id, wholeTrace.Warnings, wholeJaeger[0].Warnings)
		}
	}
}

// sendUnder sends, as tenant, two spans of trace id: a call from a
// caller outside Coldtrace, and a child of it.
func sendUnder(t *testing.T, addr, tenant string, id trace.TraceID) {
	t.Helper()
	ctx := context.Background()
	tp := tenantProvider(t, addr, tenant, attribute.String("service.name", tenant+"-svc"))
	caller := trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: id, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true}))
	callCtx, call := tp.Tracer("t").Start(caller, "call", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("t").Start(callCtx, "child")
	child.End()
	call.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTraceWarningsOfOwnTenant stores two spans of one trace id for each
// of two tenants: neither is told of the other's spans, which the trace-id
// lookup (no tenant column) counts with its own, on either trace route.
func TestTraceWarningsOfOwnTenant(t *testing.T) {
	s := ingesttest.Start(t)
	ts := apiServer(t, s)
	id := trace.TraceID{0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77}
	sendUnder(t, s.GRPCAddr, "acme", id)
	wantError(t, get(t, ts, "/api/v1/traces/"+id.String(), "X-Scope-OrgID", "beta"), http.StatusNotFound, api.CodeNotFound, "")
	sendUnder(t, s.GRPCAddr, "beta", id)
	for _, tenant := range []string{"acme", "beta"} {
		var tr api.Trace
		decode(t, get(t, ts, "/api/v1/traces/"+id.String(), "X-Scope-OrgID", tenant), &tr)
		if len(tr.Spans) != 2 || tr.Spans[0].Service != tenant+"-svc" || tr.Warnings != nil {
			t.Errorf("tenant %s: %d spans, warnings %q", tenant, len(tr.Spans), tr.Warnings)
		}
		var traces []jTrace
		decodeJaeger(t, get(t, ts, "/api/traces/"+id.String(), "X-Scope-OrgID", tenant), &traces)
		if len(traces) != 1 || len(traces[0].Spans) != 2 || traces[0].Warnings != nil {
			t.Errorf("tenant %s, Jaeger: %d traces, the first's warnings %q", tenant, len(traces), traces[0].Warnings)
		}
	}
}

// Cold starts that do not report an init duration (other runtimes'
// instrumentation) are left out of the init quantiles: they are not 0 ms.
func TestInitQuantilesOnlyOfReportedInits(t *testing.T) {
	s := ingesttest.Start(t)
	ts := apiServer(t, s)
	at := time.Now().Add(-10 * time.Minute).UnixNano()
	span := func(fn, id, init string) string {
		attrs := "'faas.trigger', 'http', 'faas.coldstart', 'true'"
		if init != "" {
			attrs += ", 'coldtrace.init_duration_ms', '" + init + "'"
		}
		return fmt.Sprintf("(fromUnixTimestamp64Nano(%d), '%032x', '%s', '%s', 'inv', map('faas.name', '%s', 'faas.version', '1'), map(%s))",
			at, id, id, fn, fn, attrs)
	}
	if err := s.Client.Exec(context.Background(), fmt.Sprintf(
		"INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName, ResourceAttributes, SpanAttributes) VALUES %s",
		s.Table(schema.TracesTable), strings.Join([]string{
			span("noinit", "00000000000000d1", ""),
			span("mixed", "00000000000000d2", "10"), span("mixed", "00000000000000d3", ""),
		}, ", "))); err != nil {
		t.Fatal(err)
	}
	var res api.Functions
	decode(t, get(t, ts, "/api/v1/functions"), &res)
	byName := map[string]api.FunctionSummary{}
	for _, f := range res.Functions {
		byName[f.Name] = f
	}
	if f := byName["noinit"]; f.ColdStarts != 1 || f.InitDuration != nil {
		t.Errorf("noinit: %d cold starts, init %+v, want 1 and none", f.ColdStarts, f.InitDuration)
	}
	if f := byName["mixed"]; f.ColdStarts != 2 || f.InitDuration == nil || f.InitDuration.P50Nano != 10e6 {
		t.Errorf("mixed: %d cold starts, init %+v, want 2 and p50 10 ms", f.ColdStarts, f.InitDuration)
	}
}

func searchIDs(t *testing.T, res api.TraceSearch) []string {
	ids := make([]string, len(res.Traces))
	for i, tr := range res.Traces {
		ids[i] = tr.TraceID
	}
	return ids
}

func testSearch(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	cold, timeout := hexTrace(f.coldTrace), hexTrace(f.timeoutTrace)
	cases := []struct {
		query string
		want  []string
	}{
		{"service=orders", []string{timeout, cold}},
		{"service=orders&operation=init", []string{cold}},
		{"service=orders&minDuration=2s", []string{timeout}},
		{"service=orders&maxDuration=1s", []string{cold}},
		{"service=orders&minDuration=300ms&maxDuration=400ms", []string{cold}},
		{"coldStart=true", []string{cold}},
		{"coldStart=false", []string{timeout}},
		{"errorType=timeout", []string{timeout}},
		{"status=error&service=orders", []string{timeout, cold}},
		{"status=ok", []string{}},
		{"attr.http.route=/orders/{id}", []string{cold}},
		{"resource.faas.instance=orders-3-a&attr.faas.trigger=http", []string{timeout, cold}},
		{"attr.faas.instance=orders-3-a", []string{}},
		{"attr.link.reason=", []string{}},
		{"attr.db.cached=false", []string{cold}},
		{"resource.deployment.environment=", []string{cold}},
		{"attr.deployment.environment=", []string{}},
		{"resource.x') OR 1=1 --=1", []string{}},
		{"service=nobody", []string{}},
		{"service=' OR 1=1 --", []string{}},
		{"attr.x') OR 1=1 --=1", []string{}},
	}
	for _, c := range cases {
		var res api.TraceSearch
		decode(t, get(t, ts, "/api/v1/traces?"+window(f)+"&"+escapeQuery(c.query)), &res)
		if got := searchIDs(t, res); !slicesEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
		if res.NextCursor != "" {
			t.Errorf("%s: cursor on the only page", c.query)
		}
	}
	// Summaries are those of the traces.
	var res api.TraceSearch
	decode(t, get(t, ts, "/api/v1/traces?"+window(f)+"&coldStart=true"), &res)
	if tr := res.Traces[0]; tr.RootService != "api-gateway" || tr.SpanCount != 5 || !tr.ColdStart || tr.DurationNano != uint64(900*time.Millisecond) {
		t.Errorf("summary %+v", tr)
	}
}

// escapeQuery escapes the values of a raw a=b&c=d query.
func escapeQuery(q string) string {
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func testSearchPagination(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var got []string
	cursor := ""
	pages := 0
	for {
		q := "/api/v1/traces?service=pager&limit=10&" + window(f)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var res api.TraceSearch
		decode(t, get(t, ts, q), &res)
		got = append(got, searchIDs(t, res)...)
		pages++
		if res.NextCursor == "" || pages > 5 {
			break
		}
		cursor = res.NextCursor
	}
	var want []string
	for i := len(f.pagerTraces) - 1; i >= 0; i-- {
		want = append(want, hexTrace(f.pagerTraces[i]))
	}
	if pages != 3 || !slicesEqual(got, want) {
		t.Errorf("%d pages: %v\nwant newest first: %v", pages, got, want)
	}
}

func testServicesAndOperations(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var svcs api.Services
	decode(t, get(t, ts, "/api/v1/services?"+window(f)), &svcs)
	want := []api.Service{
		{Name: "api-gateway", SpanCount: 2},
		{Name: "orders", SpanCount: 4, ErrorCount: 2, Function: true},
		{Name: "pager", SpanCount: pagerCount},
	}
	if fmt.Sprint(svcs.Services) != fmt.Sprint(want) {
		t.Errorf("services %+v, want %+v", svcs.Services, want)
	}
	var ops api.Operations
	decode(t, get(t, ts, "/api/v1/services/orders/operations?"+window(f)), &ops)
	wantOps := []api.Operation{{Name: "SELECT orders", Kind: "client", SpanCount: 1}, {Name: "init", Kind: "internal", SpanCount: 1}, {Name: "orders", Kind: "server", SpanCount: 2}}
	if ops.Service != "orders" || fmt.Sprint(ops.Operations) != fmt.Sprint(wantOps) {
		t.Errorf("operations %+v, want %+v", ops, wantOps)
	}
	// A window without spans is empty, not an error.
	decode(t, get(t, ts, "/api/v1/services?start=now-1m"), &svcs)
	if len(svcs.Services) != 0 {
		t.Errorf("services of the last minute: %+v", svcs.Services)
	}
}

func testFunctions(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var fns api.Functions
	decode(t, get(t, ts, "/api/v1/functions?"+window(f)), &fns)
	if len(fns.Functions) != 1 {
		t.Fatalf("functions %+v", fns.Functions)
	}
	fn := fns.Functions[0]
	prices := reader.DefaultPrices()
	gbs := float64(billedColdMs+billedTimeout) / 1000 * float64(memoryLimit) / (1 << 30)
	if fn.Name != "orders" || fn.Version != "3" || fn.Invocations != 2 || fn.ColdStarts != 1 || fn.ColdStartRate != 0.5 ||
		fn.Timeouts != 1 || fn.Errors != 1 || fn.ErrorsByType != (api.ErrorsByType{Timeout: 1}) || fn.Throttles != 0 ||
		fn.BilledDurationNano != (billedColdMs+billedTimeout)*1e6 || fn.MaxMemoryUsedBytes != 70000000 || fn.MemoryLimitBytes != memoryLimit {
		t.Errorf("function %+v", fn)
	}
	if math.Abs(fn.BilledGBSeconds-gbs) > 1e-9 || math.Abs(fn.Cost.TotalUSD-(gbs*prices.PerGBSecond+2*prices.PerMillionRequests/1e6)) > 1e-12 {
		t.Errorf("billed %g GB-s cost %+v, want %g GB-s", fn.BilledGBSeconds, fn.Cost, gbs)
	}
	if fn.InitDuration == nil || math.Abs(fn.InitDuration.P50Nano-initDurationMs*1e6) > 1e3 {
		t.Errorf("init duration %+v, want p50 %g ns", fn.InitDuration, initDurationMs*1e6)
	}
	if fn.Duration == nil || fn.Duration.P99Nano < float64(690*time.Millisecond) || fn.Duration.P99Nano > float64(3*time.Second) ||
		fn.AvgDurationNano != float64(690*time.Millisecond+3*time.Second)/2 {
		t.Errorf("duration %+v avg %g", fn.Duration, fn.AvgDurationNano)
	}
	if fns.Window.StartUnixNano%int64(time.Minute) != 0 || fns.Prices != prices {
		t.Errorf("window %+v prices %+v", fns.Window, fns.Prices)
	}
}

func testTimeseries(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	// Trace 1 is in the base minute, trace 2 one minute later.
	start := f.base.Truncate(time.Minute)
	q := fmt.Sprintf("start=%d&end=%d&step=1m", start.UnixNano(), start.Add(3*time.Minute).UnixNano())
	values := func(metric string) []string {
		var series api.Timeseries
		decode(t, get(t, ts, "/api/v1/functions/orders/timeseries?metric="+metric+"&"+q), &series)
		if series.StepSeconds != 60 || series.Metric != metric || series.Unit != reader.MetricUnits[metric] || len(series.Points) != 3 {
			t.Fatalf("%s: %+v", metric, series)
		}
		var out []string
		for i, p := range series.Points {
			if p.TimeUnixNano != start.Add(time.Duration(i)*time.Minute).UnixNano() {
				t.Errorf("%s: point %d at %d", metric, i, p.TimeUnixNano)
			}
			if p.Value == nil {
				out = append(out, "null")
			} else {
				out = append(out, fmt.Sprintf("%.4g", *p.Value))
			}
		}
		return out
	}
	for metric, want := range map[string]string{
		"invocations":    "1 1 0",
		"coldstarts":     "1 0 0",
		"coldstart_rate": "1 0 null",
		"timeouts":       "0 1 0",
		"errors":         "0 1 0",
		// One invocation a minute: every quantile is that invocation.
		"duration_p50": "6.9e+08 3e+09 null",
		"duration_p95": "6.9e+08 3e+09 null",
		"duration_p99": "6.9e+08 3e+09 null",
		"init_p50":     "2.875e+08 null null",
		"init_p95":     "2.875e+08 null null",
		"init_p99":     "2.875e+08 null null",
	} {
		if got := strings.Join(values(metric), " "); got != want {
			t.Errorf("%s: %s, want %s", metric, got, want)
		}
	}
	if cost := values("cost"); cost[0] == "0" || cost[2] != "0" {
		t.Errorf("cost %v", cost)
	}
	// Steps that do not divide the time since year 1 (7m, 5h) still count
	// from the epoch, where ClickHouse's buckets are.
	for _, step := range []time.Duration{7 * time.Minute, 5 * time.Hour} {
		var series api.Timeseries
		decode(t, get(t, ts, fmt.Sprintf("/api/v1/functions/orders/timeseries?metric=invocations&step=%v&start=%d&end=%d",
			step, start.UnixNano(), start.Add(3*time.Minute).UnixNano())), &series)
		total := 0.0
		for _, p := range series.Points {
			if p.TimeUnixNano%int64(step) != 0 {
				t.Errorf("step %v: point at %v is not a multiple of the step since the epoch", step, p.Time)
			}
			total += *p.Value
		}
		if total != 2 {
			t.Errorf("step %v: %v invocations in %+v, want 2", step, total, series.Points)
		}
	}
	// Days and weeks, as the time parameters take them (now-2d).
	for step, want := range map[string]time.Duration{"1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour} {
		var series api.Timeseries
		decode(t, get(t, ts, fmt.Sprintf("/api/v1/functions/orders/timeseries?metric=invocations&step=%s&start=%d&end=%d",
			step, start.UnixNano(), start.Add(3*time.Minute).UnixNano())), &series)
		if len(series.Points) == 0 || series.Points[0].TimeUnixNano%int64(want) != 0 {
			t.Errorf("step %s: points %+v, want steps of %v", step, series.Points, want)
		}
	}
	// Versions filter.
	var series api.Timeseries
	decode(t, get(t, ts, "/api/v1/functions/orders/timeseries?metric=invocations&version=4&"+q), &series)
	for _, p := range series.Points {
		if *p.Value != 0 {
			t.Errorf("version 4 has invocations: %+v", series.Points)
		}
	}
}

func testInstances(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var in api.Instances
	decode(t, get(t, ts, "/api/v1/functions/orders/instances?"+window(f)), &in)
	if len(in.Instances) != 1 {
		t.Fatalf("instances %+v", in)
	}
	i := in.Instances[0]
	if i.Instance != "orders-3-a" || i.Version != "3" || i.Invocations != 2 || i.Errors != 1 ||
		i.FirstSeenUnixNano != f.invocation.start.UnixNano() || i.LastSeenUnixNano != f.timeoutInv.end.UnixNano() ||
		i.PeakMemoryBytes != 70000000 || i.MemoryLimitBytes != memoryLimit || i.MemoryUsedRatio == nil ||
		math.Abs(*i.MemoryUsedRatio-70000000.0/memoryLimit) > 1e-9 {
		t.Errorf("instance %+v", i)
	}
	if cs := i.ColdStart; cs == nil || cs.TraceID != hexTrace(f.coldTrace) || cs.SpanID != hexSpan(f.invocation.ctx) ||
		cs.TimeUnixNano != f.invocation.start.UnixNano() || cs.InitDurationNano != uint64(initDurationMs*1e6) {
		t.Errorf("cold start %+v", i.ColdStart)
	}
	// Only the timeout in the window: the cold start is before it.
	q := fmt.Sprintf("start=%d&end=%d", f.timeoutInv.start.UnixNano(), f.timeoutInv.end.UnixNano())
	decode(t, get(t, ts, "/api/v1/functions/orders/instances?"+q), &in)
	if len(in.Instances) != 1 || in.Instances[0].ColdStart != nil || in.Instances[0].Invocations != 1 {
		t.Errorf("instances in the timeout's window: %+v", in.Instances)
	}
}

func testDependencies(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var deps api.Dependencies
	decode(t, get(t, ts, "/api/v1/dependencies?"+window(f)), &deps)
	if len(deps.Edges) != 1 {
		t.Fatalf("edges %+v", deps.Edges)
	}
	e := deps.Edges[0]
	if e.Parent != "api-gateway" || e.Child != "orders" || e.Calls != 1 || e.Errors != 0 || e.P95DurationNano != float64(690*time.Millisecond) {
		t.Errorf("edge %+v", e)
	}
	// A call in the window whose caller started 5 ms before it.
	q := fmt.Sprintf("start=%d&end=%d", f.invocation.start.UnixNano(), f.invocation.end.UnixNano())
	decode(t, get(t, ts, "/api/v1/dependencies?"+q), &deps)
	if len(deps.Edges) != 1 || deps.Edges[0].Calls != 1 || deps.Edges[0].Parent != "api-gateway" {
		t.Errorf("edges of a window starting after the caller: %+v", deps.Edges)
	}
}

func testAttributes(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var keys api.Attributes
	decode(t, get(t, ts, "/api/v1/attributes?service=orders&"+window(f)), &keys)
	got := map[string]api.AttributeKey{}
	for _, k := range keys.Attributes {
		got[k.Scope+":"+k.Key] = k
	}
	for key, want := range map[string]api.AttributeKey{
		"span:faas.coldstart":               {Key: "faas.coldstart", Scope: "span", Type: "bool", Count: 2},
		"span:db.tables":                    {Key: "db.tables", Scope: "span", Type: "array", Count: 1},
		"resource:faas.max_memory":          {Key: "faas.max_memory", Scope: "resource", Type: "int", Count: 4},
		"resource:service.name":             {Key: "service.name", Scope: "resource", Type: "string", Count: 4},
		"span:coldtrace.billed_duration_ms": {Key: "coldtrace.billed_duration_ms", Scope: "span", Type: "int", Count: 2},
	} {
		if got[key] != want {
			t.Errorf("%s: %+v, want %+v", key, got[key], want)
		}
	}
	if _, ok := got["resource:deployment.environment"]; ok {
		t.Error("service filter ignored")
	}
	var vals api.AttributeValues
	decode(t, get(t, ts, "/api/v1/attributes/faas.invocation_id/values?"+window(f)), &vals)
	if fmt.Sprint(vals.Values) != "[{inv-1 1} {inv-2 1}]" || vals.Key != "faas.invocation_id" {
		t.Errorf("values %+v", vals)
	}
	decode(t, get(t, ts, "/api/v1/attributes/service.name/values?scope=resource&limit=2&"+window(f)), &vals)
	if fmt.Sprint(vals.Values) != fmt.Sprintf("[{pager %d} {orders 4}]", pagerCount) {
		t.Errorf("values %+v", vals)
	}
	decode(t, get(t, ts, "/api/v1/attributes/service.name/values?scope=span&"+window(f)), &vals)
	if len(vals.Values) != 0 {
		t.Errorf("span-scoped service.name values %+v", vals)
	}
}

func testStatus(t *testing.T) {
	_, s := setup(t)
	ts := apiServer(t, s)
	var st api.Status
	decode(t, get(t, ts, "/api/v1/status"), &st)
	if st.Status != "ok" || !st.ClickHouse.Reachable || st.ClickHouse.Version == "" || st.SpanCount != 5+1+pagerCount ||
		st.Version != "test" || st.ClickHouse.Database != s.Client.Database {
		t.Errorf("status %+v", st)
	}
	var doc map[string]any
	decode(t, get(t, ts, "/api/v1/openapi.json"), &doc)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi document %v", doc["openapi"])
	}
}

func testTenant(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	other := []string{"X-Scope-OrgID", "someone-else"}
	wantError(t, get(t, ts, "/api/v1/traces/"+hexTrace(f.coldTrace), other...), http.StatusNotFound, api.CodeNotFound, "")
	var res api.TraceSearch
	decode(t, get(t, ts, "/api/v1/traces?service=orders&"+window(f), other...), &res)
	if len(res.Traces) != 0 {
		t.Errorf("another tenant sees %v", searchIDs(t, res))
	}
	var st api.Status
	decode(t, get(t, ts, "/api/v1/status", other...), &st)
	if st.SpanCount != 0 || st.Tenant != "someone-else" {
		t.Errorf("status for another tenant %+v", st)
	}
	wantError(t, get(t, ts, "/api/v1/status", "X-Scope-OrgID", strings.Repeat("x", 200)), http.StatusBadRequest, api.CodeBadParameter, "X-Scope-OrgID")
}

func testHostileInput(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	id := hexTrace(f.coldTrace)
	for _, c := range []struct {
		path, code, param string
	}{
		{"/api/v1/traces/xyz", api.CodeBadParameter, "traceId"},
		{"/api/v1/traces/" + strings.Repeat("a", 33), api.CodeBadParameter, "traceId"},
		{"/api/v1/traces/00000000000000000000000000000000", api.CodeBadParameter, "traceId"},
		{"/api/v1/traces/'%20OR%201=1", api.CodeBadParameter, "traceId"},
		{"/api/v1/traces/" + id + "?start=yesterday", api.CodeBadParameter, "start"},
		{"/api/v1/traces/" + id + "?foo=1", api.CodeUnknownParameter, "foo"},
		{"/api/v1/traces?limit=1000000", api.CodeBadParameter, "limit"},
		{"/api/v1/traces?limit=0", api.CodeBadParameter, "limit"},
		{"/api/v1/traces?limit=-5", api.CodeBadParameter, "limit"},
		{"/api/v1/traces?limit=1&limit=2", api.CodeBadParameter, "limit"},
		{"/api/v1/traces?minDuration=fast", api.CodeBadParameter, "minDuration"},
		{"/api/v1/traces?minDuration=-1s", api.CodeBadParameter, "minDuration"},
		{"/api/v1/traces?minDuration=2s&maxDuration=1s", api.CodeBadParameter, "maxDuration"},
		{"/api/v1/traces?status=broken", api.CodeBadParameter, "status"},
		{"/api/v1/traces?coldStart=yes", api.CodeBadParameter, "coldStart"},
		{"/api/v1/traces?errorType=DROP%20TABLE", api.CodeBadParameter, "errorType"},
		{"/api/v1/traces?cursor=not-a-cursor", api.CodeBadParameter, "cursor"},
		{"/api/v1/traces?servce=orders", api.CodeUnknownParameter, "servce"},
		{"/api/v1/traces?start=1700000000", api.CodeBadParameter, "start"},
		{"/api/v1/traces?start=now-30d", api.CodeBadParameter, "start"},
		{"/api/v1/traces?start=now&end=now-1h", api.CodeBadParameter, "start"},
		{"/api/v1/traces?end=99999999999999999999", api.CodeBadParameter, "end"},
		{"/api/v1/traces?start=2026-13-45T00:00:00Z", api.CodeBadParameter, "start"},
		{"/api/v1/functions/orders/timeseries", api.CodeBadParameter, "metric"},
		{"/api/v1/functions/orders/timeseries?metric=1;DROP", api.CodeBadParameter, "metric"},
		{"/api/v1/functions/orders/timeseries?metric=invocations&step=30s", api.CodeBadParameter, "step"},
		{"/api/v1/functions/orders/timeseries?metric=invocations&step=1m&start=now-7d", api.CodeBadParameter, "step"},
		{"/api/v1/functions/orders/timeseries?metric=invocations&step=0m", api.CodeBadParameter, "step"},
		{"/api/v1/functions/orders/timeseries?metric=invocations&step=20000w", api.CodeBadParameter, "step"},
		{"/api/v1/traces?minDuration=100001d", api.CodeBadParameter, "minDuration"},
		{"/api/v1/functions/orders/timeseries?metric=invocations&step=1000000h", api.CodeBadParameter, "step"},
		{"/api/v1/attributes/k/values?scope=everything", api.CodeBadParameter, "scope"},
		{"/api/v1/functions/orders/instances?limit=abc", api.CodeBadParameter, "limit"},
		{"/api/v1/services?start=now-1h&end=now&x=1", api.CodeUnknownParameter, "x"},
	} {
		wantError(t, get(t, ts, c.path), http.StatusBadRequest, c.code, c.param)
	}
	wantError(t, get(t, ts, "/api/v1/nothing-here"), http.StatusNotFound, api.CodeNotFound, "")
	// SQL in path parameters and filters is data, not SQL.
	for _, p := range []string{
		"/api/v1/services/x'%3B%20DROP%20TABLE%20otel_traces%3B--/operations",
		"/api/v1/functions/x')%20OR%20('1'='1/instances",
		"/api/v1/attributes/a']%20OR%201=1--/values",
	} {
		r := get(t, ts, p)
		if r.status != http.StatusOK || strings.Contains(string(r.body), "orders") {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	// The service is still there.
	var st api.Status
	decode(t, get(t, ts, "/api/v1/status"), &st)
	if st.SpanCount != 5+1+pagerCount {
		t.Errorf("span count %d after hostile input", st.SpanCount)
	}
}

// Jaeger's JSON model (jaeger/model/json in Jaeger's query service),
// mirrored field by field for strict decoding.
type (
	jResponse struct {
		Data   json.RawMessage `json:"data"`
		Total  int             `json:"total"`
		Limit  int             `json:"limit"`
		Offset int             `json:"offset"`
		Errors []jError        `json:"errors"`
	}
	jError struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		TraceID string `json:"traceID"`
	}
	jTrace struct {
		TraceID   string              `json:"traceID"`
		Spans     []jSpan             `json:"spans"`
		Processes map[string]jProcess `json:"processes"`
		Warnings  []string            `json:"warnings"`
	}
	jSpan struct {
		TraceID       string       `json:"traceID"`
		SpanID        string       `json:"spanID"`
		ParentSpanID  string       `json:"parentSpanID,omitempty"`
		Flags         uint32       `json:"flags,omitempty"`
		OperationName string       `json:"operationName"`
		References    []jReference `json:"references"`
		StartTime     uint64       `json:"startTime"`
		Duration      uint64       `json:"duration"`
		Tags          []jKeyValue  `json:"tags"`
		Logs          []jLog       `json:"logs"`
		ProcessID     string       `json:"processID,omitempty"`
		Process       *jProcess    `json:"process,omitempty"`
		Warnings      []string     `json:"warnings"`
	}
	jReference struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	jProcess struct {
		ServiceName string      `json:"serviceName"`
		Tags        []jKeyValue `json:"tags"`
	}
	jLog struct {
		Timestamp uint64      `json:"timestamp"`
		Fields    []jKeyValue `json:"fields"`
	}
	jKeyValue struct {
		Key   string `json:"key"`
		Type  string `json:"type,omitempty"`
		Value any    `json:"value"`
	}
)

func decodeJaeger(t *testing.T, r response, data any) jResponse {
	t.Helper()
	var env jResponse
	decode(t, r, &env)
	if env.Errors != nil {
		t.Fatalf("errors %+v", env.Errors)
	}
	dec := json.NewDecoder(strings.NewReader(string(env.Data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(data); err != nil {
		t.Fatalf("jaeger data: %v\n%s", err, env.Data)
	}
	return env
}

func jTag(t *testing.T, tags []jKeyValue, key string) jKeyValue {
	t.Helper()
	for _, kv := range tags {
		if kv.Key == key {
			return kv
		}
	}
	t.Errorf("tag %q missing from %+v", key, tags)
	return jKeyValue{}
}

func testJaeger(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	var traces []jTrace
	env := decodeJaeger(t, get(t, ts, "/api/traces/"+hexTrace(f.coldTrace)), &traces)
	if env.Total != 1 || len(traces) != 1 || len(traces[0].Spans) != 5 || traces[0].TraceID != hexTrace(f.coldTrace) {
		t.Fatalf("jaeger trace: total %d %+v", env.Total, traces)
	}
	tr := traces[0]
	byID := map[string]jSpan{}
	for _, sp := range tr.Spans {
		byID[sp.SpanID] = sp
		p, ok := tr.Processes[sp.ProcessID]
		if !ok {
			t.Errorf("span %s: process %q missing", sp.SpanID, sp.ProcessID)
		}
		for _, kv := range append(append([]jKeyValue{}, sp.Tags...), p.Tags...) {
			switch kv.Type {
			case "string", "bool", "int64", "float64", "binary":
			default:
				t.Errorf("tag %s has type %q", kv.Key, kv.Type)
			}
		}
	}
	if len(tr.Processes) != 2 {
		t.Errorf("processes %+v", tr.Processes)
	}
	inv := byID[hexSpan(f.invocation.ctx)]
	if inv.StartTime != uint64(f.invocation.start.UnixMicro()) || inv.Duration != uint64(f.invocation.end.Sub(f.invocation.start).Microseconds()) ||
		inv.OperationName != "orders" || inv.Flags != 1 {
		t.Errorf("invocation %+v", inv)
	}
	if len(inv.References) != 1 || inv.References[0] != (jReference{"CHILD_OF", hexTrace(f.coldTrace), hexSpan(f.gatewayCall.ctx)}) {
		t.Errorf("references %+v", inv.References)
	}
	if kv := jTag(t, inv.Tags, "faas.coldstart"); kv.Type != "bool" || kv.Value != true {
		t.Errorf("faas.coldstart %+v", kv)
	}
	if kv := jTag(t, inv.Tags, "coldtrace.billed_duration_ms"); kv.Type != "int64" || kv.Value != float64(billedColdMs) {
		t.Errorf("billed %+v", kv)
	}
	if kv := jTag(t, inv.Tags, "span.kind"); kv.Value != "server" {
		t.Errorf("span.kind %+v", kv)
	}
	p := tr.Processes[inv.ProcessID]
	if p.ServiceName != "orders" {
		t.Errorf("process %+v", p)
	}
	if kv := jTag(t, p.Tags, "faas.max_memory"); kv.Type != "int64" || kv.Value != float64(memoryLimit) {
		t.Errorf("process tag %+v", kv)
	}
	for _, kv := range p.Tags {
		if kv.Key == "service.name" {
			t.Error("service.name repeated as a process tag")
		}
	}
	db := byID[hexSpan(f.db.ctx)]
	if kv := jTag(t, db.Tags, "error"); kv.Type != "bool" || kv.Value != true {
		t.Errorf("error tag %+v", kv)
	}
	if kv := jTag(t, db.Tags, "otel.status_description"); kv.Value != "slow query" {
		t.Errorf("status tag %+v", kv)
	}
	if kv := jTag(t, db.Tags, "db.tables"); kv.Type != "string" || kv.Value != `["orders","items"]` {
		t.Errorf("array tag %+v", kv)
	}
	if len(db.Logs) != 1 || db.Logs[0].Timestamp != uint64(f.base.Add(600*time.Millisecond).UnixMicro()) ||
		jTag(t, db.Logs[0].Fields, "event").Value != "rows fetched" {
		t.Errorf("logs %+v", db.Logs)
	}
	root := byID[hexSpan(f.gatewayRoot.ctx)]
	if len(root.References) != 0 || jTag(t, root.Tags, "otel.scope.name").Value != "net/http" {
		t.Errorf("root %+v", root)
	}
	// Links are FOLLOWS_FROM references.
	env = decodeJaeger(t, get(t, ts, "/api/traces/"+hexTrace(f.timeoutTrace)), &traces)
	if refs := traces[0].Spans[0].References; len(refs) != 1 || refs[0] != (jReference{"FOLLOWS_FROM", hexTrace(f.coldTrace), hexSpan(f.gatewayRoot.ctx)}) {
		t.Errorf("link references %+v", refs)
	}

	var names []string
	decodeJaeger(t, get(t, ts, "/api/services"), &names)
	if !slicesEqual(names, []string{"api-gateway", "orders", "pager"}) {
		t.Errorf("services %v", names)
	}
	decodeJaeger(t, get(t, ts, "/api/services/orders/operations"), &names)
	if !slicesEqual(names, []string{"SELECT orders", "init", "orders"}) {
		t.Errorf("operations %v", names)
	}
	var ops []struct {
		Name     string `json:"name"`
		SpanKind string `json:"spanKind"`
	}
	decodeJaeger(t, get(t, ts, "/api/operations?service=orders&spanKind=server"), &ops)
	if len(ops) != 1 || ops[0].Name != "orders" || ops[0].SpanKind != "server" {
		t.Errorf("operations %+v", ops)
	}
	var links []struct {
		Parent    string `json:"parent"`
		Child     string `json:"child"`
		CallCount uint64 `json:"callCount"`
	}
	decodeJaeger(t, get(t, ts, fmt.Sprintf("/api/dependencies?endTs=%d&lookback=%d", f.base.Add(10*time.Minute).UnixMilli(), (15*time.Minute).Milliseconds())), &links)
	if len(links) != 1 || links[0].Parent != "api-gateway" || links[0].Child != "orders" || links[0].CallCount != 1 {
		t.Errorf("dependencies %+v", links)
	}
	// Errors carry both shapes.
	r := get(t, ts, "/api/traces/nothex")
	var jerr struct {
		Errors []jError  `json:"errors"`
		Error  api.Error `json:"error"`
		Data   any       `json:"data"`
	}
	if err := json.Unmarshal(r.body, &jerr); err != nil || r.status != 400 || len(jerr.Errors) != 1 || jerr.Errors[0].Code != 400 ||
		jerr.Error.Code != api.CodeBadParameter || jerr.Error.Parameter != "traceId" {
		t.Errorf("jaeger error %d %s", r.status, r.body)
	}
	r = get(t, ts, "/api/traces/0123456789abcdef0123456789abcdef")
	if r.status != http.StatusNotFound {
		t.Errorf("unknown trace: %d %s", r.status, r.body)
	}
}

func testJaegerSearch(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	q := fmt.Sprintf("start=%d&end=%d", f.base.Add(-time.Minute).UnixMicro(), f.base.Add(10*time.Minute).UnixMicro())
	ids := func(path string) []string {
		var traces []jTrace
		decodeJaeger(t, get(t, ts, path), &traces)
		var out []string
		for _, tr := range traces {
			out = append(out, tr.TraceID)
			if len(tr.Spans) == 0 || tr.Spans[0].TraceID != tr.TraceID {
				t.Errorf("%s: trace %s spans %+v", path, tr.TraceID, tr.Spans)
			}
		}
		sort.Strings(out)
		return out
	}
	cold, timeout := hexTrace(f.coldTrace), hexTrace(f.timeoutTrace)
	both := []string{cold, timeout}
	sort.Strings(both)
	for path, want := range map[string][]string{
		"/api/traces?service=orders&" + q:                                                          both,
		"/api/traces?service=orders&minDuration=2s&" + q:                                           {timeout},
		"/api/traces?service=orders&operation=init&" + q:                                           {cold},
		"/api/traces?service=orders&tags=" + url.QueryEscape(`{"error.type":"timeout"}`) + "&" + q: {timeout},
		"/api/traces?service=api-gateway&tag=http.response.status_code:200&" + q:                   {cold},
		"/api/traces?service=orders&tags=" + url.QueryEscape(`{"error":"true"}`) + "&" + q:         both,
		"/api/traces?service=pager&limit=3&" + q:                                                   sortedIDs(f.pagerTraces[pagerCount-3:]),
		"/api/traces?traceID=" + cold + "&traceID=" + timeout:                                      both,
	} {
		if got := ids(path); !slicesEqual(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	for _, bad := range []string{"/api/traces", "/api/traces?service=orders&limit=99999", "/api/traces?service=orders&tags=nope", "/api/traces?service=orders&start=abc"} {
		if r := get(t, ts, bad); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
}

func sortedIDs(scs []trace.SpanContext) []string {
	var out []string
	for _, sc := range scs {
		out = append(out, hexTrace(sc))
	}
	sort.Strings(out)
	return out
}
