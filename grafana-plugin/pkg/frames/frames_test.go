package frames

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

func TestSpanWarnings(t *testing.T) {
	for _, tc := range []struct {
		faas *coldtrace.Invocation
		want string
	}{
		{nil, ""},
		{&coldtrace.Invocation{}, ""},
		{&coldtrace.Invocation{ErrorType: "timeout", TimeoutNano: 3e9}, "its 3000 ms timeout"},
		{&coldtrace.Invocation{ErrorType: "timeout"}, "Invocation timed out"},
		{&coldtrace.Invocation{ErrorType: "out_of_memory", MaxMemoryUsedBytes: 512, MemoryLimitBytes: 512}, "512 of 512 bytes"},
		{&coldtrace.Invocation{ErrorType: "crash"}, "Invocation failed: crash"},
	} {
		got := strings.Join(spanWarnings(coldtrace.Span{Faas: tc.faas}), "|")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: warnings %q, want %q", tc.faas, got, tc.want)
		}
	}
}

func TestTimeseriesUnits(t *testing.T) {
	v := 2.5e6
	f := Timeseries(coldtrace.Timeseries{Function: "fn", Metric: "init_p95", Unit: coldtrace.UnitNanoseconds, StepSeconds: 60,
		Points: []coldtrace.Point{{TimeUnixNano: 60e9, Value: &v}, {TimeUnixNano: 120e9}}}, "v2")
	val := f.Fields[1]
	if got := *val.At(0).(*float64); got != 2.5 || val.At(1).(*float64) != nil {
		t.Errorf("values = %v, %v; want 2.5 ms then null", got, val.At(1))
	}
	if val.Config.Unit != "ms" || val.Config.Interval != 60000 || val.Labels["version"] != "v2" || val.Config.DisplayNameFromDS != "fn v2" {
		t.Errorf("config %+v labels %v", val.Config, val.Labels)
	}
	for unit, want := range map[string]string{coldtrace.UnitRatio: "percentunit", coldtrace.UnitUSD: "currencyUSD", coldtrace.UnitCount: "short", "": "short"} {
		if _, got := seriesUnit(unit); got != want {
			t.Errorf("unit %q → %q, want %q", unit, got, want)
		}
	}
}

func TestServiceMapWithoutEdges(t *testing.T) {
	nodes, edges := ServiceMap(coldtrace.Dependencies{}, nil)
	if nodes.Rows() != 0 || edges.Rows() != 0 || nodes.Name != "nodes" || edges.Name != "edges" {
		t.Errorf("nodes %d rows, edges %d rows", nodes.Rows(), edges.Rows())
	}
}

// The API's trace warnings become notices of the trace frame, which the
// panel shows above the trace.
func TestTraceWarningsAreNotices(t *testing.T) {
	f, err := Trace(coldtrace.Trace{TraceID: "t", Spans: []coldtrace.Span{{TraceID: "t", SpanID: "s"}},
		Warnings: []string{"1 spans name a parent span that is not in the trace"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Meta.Notices; len(n) != 1 || n[0].Severity != data.NoticeSeverityWarning || n[0].Text != "1 spans name a parent span that is not in the trace" {
		t.Errorf("notices %+v", n)
	}
	if f, _ := Trace(coldtrace.Trace{TraceID: "t"}); len(f.Meta.Notices) != 0 {
		t.Errorf("notices on a whole trace: %+v", f.Meta.Notices)
	}
}
