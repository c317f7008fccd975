package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		json string
		err  string // empty: valid
	}{
		{`{"queryType":"trace","traceId":" 4BF92F3577B34DA6A3CE929D0E0E4736 "}`, ""},
		{`{"queryType":"trace","traceId":"abc"}`, ""},
		{`{"queryType":"trace"}`, "enter a trace ID"},
		{`{"queryType":"trace","traceId":"xyz"}`, "hexadecimal"},
		{`{"queryType":"search"}`, ""},
		{`{"queryType":"search","minDuration":"100ms","maxDuration":"1.5s","status":"error","errorType":"timeout","coldStart":true,"limit":1000}`, ""},
		{`{"queryType":"search","minDuration":"-1s"}`, "min duration"},
		{`{"queryType":"search","maxDuration":"1"}`, "max duration"},
		{`{"queryType":"search","minDuration":"2s","maxDuration":"1s"}`, "above"},
		{`{"queryType":"search","status":"failed"}`, "status"},
		{`{"queryType":"search","errorType":"oom"}`, "error type"},
		{`{"queryType":"search","limit":-1}`, "limit"},
		{`{"queryType":"search","limit":1001}`, "limit"},
		{`{"queryType":"search","attributes":{" ":"x"}}`, "no key"},
		{`{"queryType":"search","adhocFilters":[{"key":"a","operator":"=~","value":"x"}]}`, "equality"},
		{`{"queryType":"search","adhocFilters":[{"key":"","operator":"=","value":"x"}]}`, "no key"},
		{`{"queryType":"metrics","metric":"init_p95"}`, ""},
		{`{"queryType":"metrics","metric":"init_p50"}`, ""},
		{`{"queryType":"metrics","metric":"p99"}`, "metric"},
		{`{"queryType":"metrics"}`, "choose a metric"},
		{`{"queryType":"functions"}`, ""},
		{`{"queryType":"serviceMap"}`, ""},
		{`{"queryType":"servicemap"}`, "unknown query type"},
		{`{}`, "choose a query type"},
		{`{"queryType":7}`, "malformed"},
		{`[`, "malformed"},
	} {
		_, err := ParseQuery(json.RawMessage(tc.json), "")
		if tc.err == "" && err != nil {
			t.Errorf("%s: %v", tc.json, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want one containing %q", tc.json, err, tc.err)
		}
	}
}

func TestParseQueryTakesTheDataQuerysType(t *testing.T) {
	q, err := ParseQuery(json.RawMessage(`{"metric":"coldstarts"}`), QueryMetrics)
	if err != nil || q.QueryType != QueryMetrics {
		t.Errorf("query %+v, %v", q, err)
	}
	q, err = ParseQuery(json.RawMessage(`{"queryType":"functions"}`), QueryMetrics)
	if err != nil || q.QueryType != QueryFunctions {
		t.Errorf("the JSON's type must win: %+v, %v", q, err)
	}
}

func TestQueryHelpers(t *testing.T) {
	q := Query{Function: " checkout, thumbnail ,checkout,"}
	if got := q.Functions(); !slices.Equal(got, []string{"checkout", "thumbnail"}) {
		t.Errorf("Functions = %v", got)
	}
	for _, all := range []string{"", "*", "checkout,$__all"} {
		if got := (Query{Function: all}).Functions(); got != nil {
			t.Errorf("Functions(%q) = %v, want all (nil)", all, got)
		}
	}
	q = Query{Attributes: map[string]string{"http.route": "/a"}, AdHocFilters: []AdHocFilter{{Key: "faas.name", Operator: "=", Value: "checkout"}, {Key: "http.route", Value: "/b"}}}
	attrs, err := q.AttributeFilters()
	if err != nil || len(attrs) != 2 || attrs["faas.name"] != "checkout" || attrs["http.route"] != "/b" {
		t.Errorf("AttributeFilters = %v, %v (ad-hoc filters win over the editor's)", attrs, err)
	}
	if (Query{}).SearchLimit() != DefaultSearchLimit || (Query{Limit: 7}).SearchLimit() != 7 {
		t.Error("SearchLimit")
	}
	min, max, err := Query{MinDuration: "250ms", MaxDuration: " 2m "}.Durations()
	if err != nil || min != 250*time.Millisecond || max != 2*time.Minute {
		t.Errorf("Durations = %s %s %v", min, max, err)
	}
}

// The frontend's metric dropdown (src/types.ts METRICS) offers exactly the
// metrics the backend accepts, in the same order.
func TestFrontendMetricsMatch(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "src", "types.ts"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)export const METRICS = \[(.*?)\];`).FindSubmatch(src)
	if block == nil {
		t.Fatal("src/types.ts has no METRICS array")
	}
	var values []string
	for _, m := range regexp.MustCompile(`value: '([a-z0-9_]+)'`).FindAllSubmatch(block[1], -1) {
		values = append(values, string(m[1]))
	}
	if !slices.Equal(values, Metrics) {
		t.Errorf("src/types.ts METRICS %v, models.Metrics %v", values, Metrics)
	}
}
