package plugin_test

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/frames"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/internal/coldtracetest"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/models"
)

func field(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	fd, _ := f.FieldByName(name)
	if fd == nil {
		t.Fatalf("frame %q has no field %q", f.Name, name)
	}
	return fd
}

func stringsOf(t *testing.T, f *data.Frame, name string) []string {
	t.Helper()
	fd := field(t, f, name)
	out := make([]string, fd.Len())
	for i := range out {
		out[i] = fd.At(i).(string)
	}
	return out
}

type keyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// tagsOf decodes row i of a trace frame's JSON key/value field into a map
// of raw JSON values.
func tagsOf(t *testing.T, f *data.Frame, name string, i int) map[string]string {
	t.Helper()
	var kvs []keyValue
	if err := json.Unmarshal(field(t, f, name).At(i).(json.RawMessage), &kvs); err != nil {
		t.Fatalf("%s[%d]: %v", name, i, err)
	}
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = string(kv.Value)
	}
	return out
}

func TestTraceQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	// Upper case, as users paste ids from logs.
	r := mustQuery(t, d, map[string]any{"queryType": "trace", "traceId": strings.ToUpper(seeded.GoldenTraceID)})
	if len(r.Frames) != 1 {
		t.Fatalf("want 1 frame, got %d", len(r.Frames))
	}
	f := r.Frames[0]
	if f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeTrace {
		t.Fatalf("meta = %+v, want preferredVisualisationType trace", f.Meta)
	}
	// The trace view's contract: names and Go types of every field.
	want := map[string]data.FieldType{
		"traceID": data.FieldTypeString, "spanID": data.FieldTypeString, "parentSpanID": data.FieldTypeString,
		"operationName": data.FieldTypeString, "serviceName": data.FieldTypeString, "kind": data.FieldTypeString,
		"statusCode": data.FieldTypeInt64, "statusMessage": data.FieldTypeString,
		"serviceTags": data.FieldTypeJSON, "tags": data.FieldTypeJSON, "logs": data.FieldTypeJSON, "references": data.FieldTypeJSON,
		"startTime": data.FieldTypeFloat64, "duration": data.FieldTypeFloat64,
	}
	for name, typ := range want {
		if got := field(t, f, name).Type(); got != typ {
			t.Errorf("field %s: type %s, want %s", name, got, typ)
		}
	}
	ops := stringsOf(t, f, "operationName")
	wantOps := []string{"GET /checkout", "checkout", "init", "POST /charge", "charge"}
	if !slices.Equal(ops, wantOps) {
		t.Fatalf("operations in start order = %v, want %v", ops, wantOps)
	}
	spanIDs, parents := stringsOf(t, f, "spanID"), stringsOf(t, f, "parentSpanID")
	services := stringsOf(t, f, "serviceName")
	if !slices.Equal(services, []string{"frontend", "checkout", "checkout", "checkout", "payments"}) {
		t.Errorf("services = %v", services)
	}
	if parents[0] != "" || parents[1] != spanIDs[0] || parents[2] != spanIDs[1] || parents[4] != spanIDs[3] {
		t.Errorf("parent links broken: spans %v parents %v", spanIDs, parents)
	}
	for _, id := range stringsOf(t, f, "traceID") {
		if id != seeded.GoldenTraceID {
			t.Errorf("traceID %s, want %s", id, seeded.GoldenTraceID)
		}
	}
	if k := stringsOf(t, f, "kind"); k[0] != "server" || k[3] != "client" {
		t.Errorf("kinds = %v, want lower-case OpenTelemetry kinds", k)
	}

	inv := tagsOf(t, f, "tags", 1)
	if inv["faas.coldstart"] != "true" || inv["coldtrace.init_duration_ms"] != "120.5" || inv["faas.trigger"] != `"http"` {
		t.Errorf("invocation tags = %v", inv)
	}
	res := tagsOf(t, f, "serviceTags", 1)
	if res["faas.name"] != `"checkout"` || res["faas.instance"] != `"checkout-a"` || res["faas.max_memory"] != "268435456" {
		t.Errorf("invocation serviceTags = %v", res)
	}
	start := field(t, f, "startTime").At(1).(float64)
	wantStart := float64(seeded.Base.Add(10*time.Second).UnixNano()) / 1e6
	if math.Abs(start-wantStart) > 0.001 {
		t.Errorf("startTime = %f ms, want %f", start, wantStart)
	}
	initDur := field(t, f, "duration").At(2).(float64)
	if math.Abs(initDur-120.5) > 0.001 {
		t.Errorf("init duration = %f ms, want 120.5", initDur)
	}
	var logs []struct {
		Timestamp float64    `json:"timestamp"`
		Name      string     `json:"name"`
		Fields    []keyValue `json:"fields"`
	}
	if err := json.Unmarshal(field(t, f, "logs").At(1).(json.RawMessage), &logs); err != nil || len(logs) != 1 || logs[0].Name != "cart loaded" || len(logs[0].Fields) != 2 {
		t.Errorf("logs = %+v (%v)", logs, err)
	}
	var refs []struct{ TraceID, SpanID string }
	if err := json.Unmarshal(field(t, f, "references").At(1).(json.RawMessage), &refs); err != nil || len(refs) != 1 || refs[0].TraceID != "0123456789abcdef0123456789abcdef" {
		t.Errorf("references = %+v (%v)", refs, err)
	}
}

func TestTraceQueryMarksFailedInvocations(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	f := mustQuery(t, d, map[string]any{"queryType": "trace", "traceId": seeded.TimeoutTraceID}).Frames[0]
	i := slices.Index(stringsOf(t, f, "operationName"), "checkout")
	if i < 0 {
		t.Fatal("no invocation span")
	}
	if code := field(t, f, "statusCode").At(i).(int64); code != 2 {
		t.Errorf("statusCode = %d, want 2 (error)", code)
	}
	var warnings []string
	_ = json.Unmarshal(field(t, f, "warnings").At(i).(json.RawMessage), &warnings)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "timed out") || !strings.Contains(warnings[0], "3000 ms") {
		t.Errorf("warnings = %q", warnings)
	}
	if tags := tagsOf(t, f, "tags", i); tags["error.type"] != `"timeout"` {
		t.Errorf("tags = %v", tags)
	}
}

func TestTraceQueryErrors(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	for _, tc := range []struct {
		traceID string
		status  backend.Status
		text    string
	}{
		{"", backend.StatusBadRequest, "enter a trace ID"},
		{"not-hex", backend.StatusBadRequest, "hexadecimal"},
		{strings.Repeat("a", 33), backend.StatusBadRequest, "hexadecimal"},
		{"deadbeefdeadbeefdeadbeefdeadbeef", backend.StatusNotFound, "not_found"},
	} {
		r := queryOne(t, d, dataQuery(map[string]any{"queryType": "trace", "traceId": tc.traceID}))
		if r.Error == nil || r.Status != tc.status || !strings.Contains(r.Error.Error(), tc.text) {
			t.Errorf("trace %q: status %d error %v, want %d containing %q", tc.traceID, r.Status, r.Error, tc.status, tc.text)
		}
	}
}

func TestSearchQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	search := func(t *testing.T, extra map[string]any) []string {
		t.Helper()
		q := map[string]any{"queryType": "search", "limit": 100}
		for k, v := range extra {
			q[k] = v
		}
		r := mustQuery(t, d, q)
		if len(r.Frames) != 1 {
			t.Fatalf("want 1 frame, got %d", len(r.Frames))
		}
		ids := stringsOf(t, r.Frames[0], "traceID")
		sort.Strings(ids)
		return ids
	}
	all := make([]string, 0, 9)
	for k := range 9 {
		all = append(all, coldtracetest.TraceID(k))
	}
	cold := slices.Clone(seeded.ColdStartTraceIDs)
	sort.Strings(cold)
	for _, tc := range []struct {
		name  string
		query map[string]any
		want  []string
	}{
		{"everything", nil, all},
		{"cold starts", map[string]any{"coldStart": true}, cold},
		{"timeouts of checkout", map[string]any{"service": "checkout", "errorType": "timeout"}, []string{seeded.TimeoutTraceID}},
		{"errors", map[string]any{"status": "error"}, []string{coldtracetest.TraceID(2), coldtracetest.TraceID(7)}},
		{"operation", map[string]any{"service": "payments", "operation": "charge"}, []string{coldtracetest.TraceID(0), coldtracetest.TraceID(1), coldtracetest.TraceID(4)}},
		{"attribute", map[string]any{"attributes": map[string]string{"http.route": "/checkout"}}, []string{coldtracetest.TraceID(0), coldtracetest.TraceID(1), coldtracetest.TraceID(2), coldtracetest.TraceID(4)}},
		{"resource attribute via ad-hoc filter", map[string]any{"adhocFilters": []map[string]string{{"key": "resource.faas.instance", "operator": "=", "value": "checkout-b"}}}, []string{coldtracetest.TraceID(4)}},
		{"resource attribute", map[string]any{"attributes": map[string]string{"resource.faas.instance": "checkout-b"}}, []string{coldtracetest.TraceID(4)}},
		// faas.instance is a resource attribute: as a span attribute it matches nothing.
		{"resource key as span attribute", map[string]any{"attributes": map[string]string{"faas.instance": "checkout-b"}}, []string{}},
		{"min duration", map[string]any{"minDuration": "2s"}, []string{seeded.TimeoutTraceID}},
		{"duration range", map[string]any{"service": "thumbnail", "minDuration": "600ms", "maxDuration": "1s"}, []string{coldtracetest.TraceID(6), coldtracetest.TraceID(5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := search(t, tc.query); !slices.Equal(got, want) {
				t.Errorf("traces = %v, want %v", got, want)
			}
		})
	}

	t.Run("table shape and links", func(t *testing.T) {
		r := mustQuery(t, d, map[string]any{"queryType": "search", "limit": 2})
		f := r.Frames[0]
		if f.Rows() != 2 {
			t.Fatalf("limit 2 gave %d rows", f.Rows())
		}
		// Newest first: the report invocation (5m) then the second checkout cold start (4m10s).
		if ids := stringsOf(t, f, "traceID"); ids[0] != coldtracetest.TraceID(8) || ids[1] != coldtracetest.TraceID(4) {
			t.Errorf("order = %v", ids)
		}
		links := field(t, f, "traceID").Config.Links
		if len(links) != 1 || links[0].Internal == nil || links[0].Internal.DatasourceUID != "coldtrace-test" {
			t.Fatalf("traceID links = %+v", links)
		}
		q := links[0].Internal.Query.(map[string]any)
		if q["queryType"] != "trace" || q["traceId"] != "${__value.raw}" {
			t.Errorf("link query = %v", q)
		}
		if st := field(t, f, "startTime").At(0).(time.Time); !st.Equal(seeded.Base.Add(300 * time.Second)) {
			t.Errorf("startTime = %s", st)
		}
		if cs := field(t, f, "coldStart").At(0).(bool); !cs {
			t.Error("report trace not marked cold start")
		}
	})
}

func TestSearchQueryErrors(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	for _, tc := range []struct {
		query map[string]any
		text  string
	}{
		{map[string]any{"minDuration": "fast"}, "min duration"},
		{map[string]any{"minDuration": "2s", "maxDuration": "1s"}, "above max duration"},
		{map[string]any{"status": "weird"}, "status"},
		{map[string]any{"errorType": "gremlins"}, "error type"},
		{map[string]any{"limit": 5000}, "limit"},
		{map[string]any{"adhocFilters": []map[string]string{{"key": "faas.name", "operator": "!=", "value": "x"}}}, "equality"},
		{map[string]any{"service": 42}, "malformed"},
	} {
		tc.query["queryType"] = "search"
		r := queryOne(t, d, dataQuery(tc.query))
		if r.Error == nil || r.Status != backend.StatusBadRequest || !strings.Contains(r.Error.Error(), tc.text) {
			t.Errorf("%v: status %d error %v, want 400 containing %q", tc.query, r.Status, r.Error, tc.text)
		}
	}
}

// seriesByFunction indexes a metrics response by its function label and
// sums each series.
func seriesByFunction(t *testing.T, r backend.DataResponse) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, f := range r.Frames {
		if len(f.Fields) != 2 {
			t.Fatalf("series %q has %d fields", f.Name, len(f.Fields))
		}
		v := f.Fields[1]
		fn := v.Labels[frames.LabelFunction]
		sum := 0.0
		for i := range v.Len() {
			if p := v.At(i).(*float64); p != nil {
				sum += *p
			}
		}
		out[fn] = sum
	}
	return out
}

func TestMetricsQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	expected := seeded.Functions

	t.Run("cold starts of every function", func(t *testing.T) {
		r := mustQuery(t, d, map[string]any{"queryType": "metrics", "metric": "coldstarts"})
		got := seriesByFunction(t, r)
		if len(got) != len(expected) {
			t.Fatalf("series for %v, want one per function %v", got, expected)
		}
		for fn, e := range expected {
			if got[fn] != float64(e.ColdStarts) {
				t.Errorf("%s: %v cold starts, want %d", fn, got[fn], e.ColdStarts)
			}
		}
		f := r.Frames[0]
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
			t.Errorf("meta = %+v", f.Meta)
		}
		if f.Fields[0].Type() != data.FieldTypeTime {
			t.Errorf("first field is %s, want time", f.Fields[0].Type())
		}
	})
	t.Run("listed functions and counts", func(t *testing.T) {
		for metric, want := range map[string]func(coldtracetest.Expected) int{
			"invocations": func(e coldtracetest.Expected) int { return e.Invocations },
			"timeouts":    func(e coldtracetest.Expected) int { return e.Timeouts },
			"errors":      func(e coldtracetest.Expected) int { return e.Errors },
		} {
			got := seriesByFunction(t, mustQuery(t, d, map[string]any{"queryType": "metrics", "metric": metric, "function": "checkout, thumbnail"}))
			if len(got) != 2 {
				t.Fatalf("%s: series %v, want checkout and thumbnail", metric, got)
			}
			for _, fn := range []string{"checkout", "thumbnail"} {
				if got[fn] != float64(want(expected[fn])) {
					t.Errorf("%s of %s = %v, want %d", metric, fn, got[fn], want(expected[fn]))
				}
			}
		}
	})
	t.Run("durations in milliseconds", func(t *testing.T) {
		r := mustQuery(t, d, map[string]any{"queryType": "metrics", "metric": "init_p95", "function": "thumbnail"})
		v := r.Frames[0].Fields[1]
		if v.Config == nil || v.Config.Unit != "ms" {
			t.Errorf("unit = %+v, want ms", v.Config)
		}
		var vals []float64
		for i := range v.Len() {
			if p := v.At(i).(*float64); p != nil {
				vals = append(vals, *p)
			}
		}
		if len(vals) != 1 || math.Abs(vals[0]-400) > 4 {
			t.Errorf("init p95 of thumbnail = %v, want one step near 400 ms", vals)
		}
	})
	t.Run("init p50 below p95", func(t *testing.T) {
		// checkout's two cold starts (init 120.5 ms and 150 ms) in one 5 minute step.
		first := func(metric string) float64 {
			q := dataQuery(map[string]any{"queryType": "metrics", "metric": metric, "function": "checkout"})
			q.Interval = 5 * time.Minute
			q.TimeRange = backend.TimeRange{From: seeded.Base, To: seeded.Base.Add(10 * time.Minute)}
			r := queryOne(t, d, q)
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			v := r.Frames[0].Fields[1]
			if v.Config == nil || v.Config.Unit != "ms" || v.Len() == 0 || v.At(0).(*float64) == nil {
				t.Fatalf("%s: no value in the first step, or not in ms: %v", metric, v)
			}
			return *v.At(0).(*float64)
		}
		p50, p95 := first("init_p50"), first("init_p95")
		if !(120.5 <= p50 && p50 < p95 && p95 <= 150) {
			t.Errorf("init p50 %v ms, p95 %v ms: want 120.5 <= p50 < p95 <= 150", p50, p95)
		}
	})
	t.Run("every metric", func(t *testing.T) {
		for _, m := range models.Metrics {
			r := mustQuery(t, d, map[string]any{"queryType": "metrics", "metric": m, "function": "*"})
			if len(r.Frames) != len(expected) {
				t.Errorf("%s: %d series, want %d", m, len(r.Frames), len(expected))
			}
		}
	})
	t.Run("max data points widens the step", func(t *testing.T) {
		q := dataQuery(map[string]any{"queryType": "metrics", "metric": "invocations", "function": "checkout"})
		q.MaxDataPoints = 5 // a 20 minute window → 4 minute steps
		r := queryOne(t, d, q)
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		v := r.Frames[0].Fields[1]
		if v.Config.Interval != float64(4*time.Minute/time.Millisecond) {
			t.Errorf("interval = %v ms, want 4m", v.Config.Interval)
		}
		if n := v.Len(); n < 5 || n > 6 {
			t.Errorf("%d points, want 5 (6 if the window is rounded out)", n)
		}
		if sum := seriesByFunction(t, r)["checkout"]; sum != float64(expected["checkout"].Invocations) {
			t.Errorf("invocations over 4m steps = %v, want %d", sum, expected["checkout"].Invocations)
		}
	})
	t.Run("ad-hoc filters", func(t *testing.T) {
		r := mustQuery(t, d, map[string]any{"queryType": "metrics", "metric": "invocations",
			"adhocFilters": []map[string]string{{"key": "faas.name", "operator": "=", "value": "report"}, {"key": "http.route", "operator": "=", "value": "/x"}}})
		got := seriesByFunction(t, r)
		if len(got) != 1 || got["report"] != 1 {
			t.Errorf("series = %v, want report only", got)
		}
		if n := r.Frames[0].Meta.Notices; len(n) != 1 || !strings.Contains(n[0].Text, "http.route") {
			t.Errorf("notices = %+v, want one about http.route", n)
		}
	})
	t.Run("bad metric", func(t *testing.T) {
		r := queryOne(t, d, dataQuery(map[string]any{"queryType": "metrics", "metric": "vibes"}))
		if r.Error == nil || r.Status != backend.StatusBadRequest || !strings.Contains(r.Error.Error(), "coldstart_rate") {
			t.Errorf("status %d error %v", r.Status, r.Error)
		}
	})
}

func TestFunctionsQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	f := mustQuery(t, d, map[string]any{"queryType": "functions"}).Frames[0]
	names := stringsOf(t, f, "function")
	if len(names) != len(seeded.Functions) {
		t.Fatalf("functions = %v", names)
	}
	for i, name := range names {
		e := seeded.Functions[name]
		for col, want := range map[string]int{"invocations": e.Invocations, "coldStarts": e.ColdStarts, "timeouts": e.Timeouts, "errors": e.Errors} {
			if got := field(t, f, col).At(i).(int64); got != int64(want) {
				t.Errorf("%s %s = %d, want %d", name, col, got, want)
			}
		}
		if cost := field(t, f, "cost").At(i).(float64); cost <= 0 {
			t.Errorf("%s cost = %v, want > 0", name, cost)
		}
	}
	i := slices.Index(names, "checkout")
	if p := field(t, f, "initP95").At(i).(*float64); p == nil || *p < 120 || *p > 151 {
		t.Errorf("checkout init p95 = %v, want between the two cold starts' 120.5 and 150 ms", p)
	}
	if v := field(t, f, "version").At(i).(string); v != "v1" {
		t.Errorf("checkout version = %q", v)
	}
}

func TestServiceMapQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	r := mustQuery(t, d, map[string]any{"queryType": "serviceMap"})
	if len(r.Frames) != 2 {
		t.Fatalf("want nodes and edges, got %d frames", len(r.Frames))
	}
	nodes, edges := r.Frames[0], r.Frames[1]
	for _, f := range r.Frames {
		if f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeNodeGraph {
			t.Errorf("%s meta = %+v", f.Name, f.Meta)
		}
	}
	ids := stringsOf(t, nodes, "id")
	if !slices.Equal(ids, []string{"checkout", "frontend", "payments"}) {
		t.Fatalf("nodes = %v", ids)
	}
	subtitles := stringsOf(t, nodes, "subtitle")
	if subtitles[0] != "function" || subtitles[1] != "service" {
		t.Errorf("subtitles = %v", subtitles)
	}
	calls := map[string]float64{}
	src, dst := stringsOf(t, edges, "source"), stringsOf(t, edges, "target")
	for i := range src {
		calls[src[i]+"->"+dst[i]] = field(t, edges, "mainstat").At(i).(float64)
	}
	if len(calls) != 2 || calls["frontend->checkout"] != 4 || calls["checkout->payments"] != 3 {
		t.Errorf("edges = %v, want frontend->checkout 4 and checkout->payments 3", calls)
	}
	// checkout received 4 calls, one of which timed out.
	if arc := field(t, nodes, "arc__errors").At(0).(float64); arc != 0.25 {
		t.Errorf("checkout error arc = %v, want 0.25", arc)
	}
}

func TestQueryTypeErrors(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	for model, text := range map[string]string{
		`{}`:                                    "choose a query type",
		`{"queryType":"logs"}`:                  "unknown query type",
		`{"queryType":"metrics"}`:               "choose a metric",
		`not json`:                              "malformed",
		`{"queryType":"trace","traceId":["x"]}`: "malformed",
	} {
		q := dataQuery(nil)
		q.QueryType, q.JSON = "", json.RawMessage(model)
		r := queryOne(t, d, q)
		if r.Error == nil || !strings.Contains(r.Error.Error(), text) {
			t.Errorf("%s: error %v, want %q", model, r.Error, text)
		}
	}
}

// One query's failure must not take the others of the request down.
func TestQueriesFailIndependently(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	good := dataQuery(map[string]any{"queryType": "functions"})
	bad := dataQuery(map[string]any{"queryType": "trace", "traceId": "ffffffffffffffffffffffffffffffff"})
	bad.RefID = "B"
	resp, err := d.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{good, bad}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Responses["A"].Error != nil || len(resp.Responses["A"].Frames) != 1 {
		t.Errorf("A: %+v", resp.Responses["A"])
	}
	if resp.Responses["B"].Error == nil {
		t.Error("B: no error for an unknown trace")
	}
}
