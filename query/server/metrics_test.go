package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Requests are timed by route pattern and status: never by path, so
// trace ids do not become series.
func testMetrics(t *testing.T) {
	f, s := setup(t)
	srv := apiHandler(t, s)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	id := hexTrace(f.coldTrace)
	for path, status := range map[string]int{
		"/api/v1/traces/" + id:                           http.StatusOK,
		"/api/v1/traces/" + strings.Repeat("e", 32):      http.StatusNotFound,
		"/api/v1/traces/zz":                              http.StatusBadRequest,
		"/api/v1/traces?" + window(f):                    http.StatusOK,
		"/api/v1/functions/orders/timeseries?metric=bad": http.StatusBadRequest,
		"/api/traces/" + id:                              http.StatusOK,
		"/api/v1/no-such-endpoint":                       http.StatusNotFound,
	} {
		res, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != status {
			t.Fatalf("%s: %d, want %d", path, res.StatusCode, status)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Metrics()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range families {
		if mf.GetName() != "coldtrace_query_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				if strings.Contains(l.GetValue(), id) || strings.Contains(l.GetValue(), "?") {
					t.Errorf("label %s=%q holds a raw path", l.GetName(), l.GetValue())
				}
			}
			got[labels["route"]+" "+labels["code"]] += m.GetHistogram().GetSampleCount()
		}
	}
	for series, want := range map[string]uint64{
		"/api/v1/traces/:traceId 200":            1,
		"/api/v1/traces/:traceId 404":            1,
		"/api/v1/traces/:traceId 400":            1,
		"/api/v1/traces 200":                     1,
		"/api/v1/functions/:name/timeseries 400": 1,
		"/api/traces/:traceId 200":               1,
		"/api/* 404":                             1,
	} {
		if got[series] != want {
			t.Errorf("%s: %d requests timed, want %d (all: %v)", series, got[series], want, got)
		}
	}
}
