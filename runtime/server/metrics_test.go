package server_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The host's Prometheus metrics count invocations, cold starts and the
// live instances of each function.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("metered"), goFunction(t))
	for i := 0; i < 3; i++ {
		if r := e.invoke("metered", map[string]string{"value": "x"}); r.FunctionError != "" {
			t.Fatalf("function error: %s", r.Payload)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.srv.Host().Metrics()...)
	want := `
# HELP coldtrace_runtime_cold_starts_total Invocations served by a new instance.
# TYPE coldtrace_runtime_cold_starts_total counter
coldtrace_runtime_cold_starts_total{function="metered"} 1
# HELP coldtrace_runtime_invocations_total Invocations by function and error type (empty: success; throttled ones included).
# TYPE coldtrace_runtime_invocations_total counter
coldtrace_runtime_invocations_total{error_type="",function="metered"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "coldtrace_runtime_cold_starts_total", "coldtrace_runtime_invocations_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var live float64 = -1
	for _, mf := range mfs {
		if mf.GetName() != "coldtrace_runtime_instances" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["function"] == "metered" && labels["state"] == "live" {
				live = m.GetGauge().GetValue()
			}
		}
	}
	if live != 1 {
		t.Errorf("live instances of metered: %v, want 1", live)
	}
}
