package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
)

// The query-parameter parsers, fuzzed: any input gives a valid value or an
// error that becomes a 400 naming the parameter; never a panic. The seed
// inputs are here and in testdata/fuzz/<target>; scripts/test.d/80-fuzz.sh
// runs each target for FUZZTIME.

// fuzzNow is the clock of the time parsers under fuzzing.
var fuzzNow = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// wantBadParameter fails unless err is the 400 answer naming name.
func wantBadParameter(t *testing.T, err error, name string) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.body.Parameter != name || ae.body.Message == "" {
		t.Fatalf("error %#v, want a 400 naming %s", err, name)
	}
}

func FuzzInstant(f *testing.F) {
	for _, s := range []string{
		"now", "now-15m", "now-2h30m", "now-2d", "1767225600000000000", "2026-11-01T10:00:00Z",
		"2026-11-01T10:00:00.123456789+01:00", "now-", "now--1h", "-1", "99999999999999999999",
		"now-9223372036854775807ns", "now-100000d", "1767225600", "0001-01-01T00:00:00Z", "now-1.5h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &params{s: &Server{cfg: DefaultConfig(), now: func() time.Time { return fuzzNow }}, q: url.Values{"start": {v}}}
		got, err := p.instant("start", fuzzNow, fuzzNow)
		if v == "" {
			if err != nil || !got.Equal(fuzzNow) {
				t.Fatalf("absent: %v, %v", got, err)
			}
			return
		}
		if err != nil {
			wantBadParameter(t, err, "start")
			return
		}
		if got.Before(minInstant) || got.After(maxInstant) {
			t.Fatalf("%q parsed to %v, outside the accepted years", v, got)
		}
	})
}

func FuzzWindow(f *testing.F) {
	for _, s := range [][2]string{{"now-1h", "now"}, {"", ""}, {"now-8d", ""}, {"now", "now-1h"}, {"2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z"},
		{"1793523600000000000", "1793527200000000000"}, {"now-7d", "now"}, {"now-1ns", "now-1ns"}, {"", "2000-01-01T00:00:00Z"}} {
		f.Add(s[0], s[1])
	}
	cfg := DefaultConfig()
	f.Fuzz(func(t *testing.T, start, end string) {
		q := url.Values{}
		if start != "" {
			q.Set("start", start)
		}
		if end != "" {
			q.Set("end", end)
		}
		p := &params{s: &Server{cfg: cfg, now: func() time.Time { return fuzzNow }}, q: q}
		w, err := p.window()
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || (ae.body.Parameter != "start" && ae.body.Parameter != "end") {
				t.Fatalf("%q %q: %#v, want a 400 naming start or end", start, end, err)
			}
			return
		}
		if !w.Start.Before(w.End) || w.End.Sub(w.Start) > cfg.MaxWindow || w.Start.Location() != time.UTC {
			t.Fatalf("%q %q gave window %v – %v", start, end, w.Start, w.End)
		}
	})
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"250ms", "1.5s", "2m", "100us", "1h30m", "1500000", "-1s", "0", "9223372036854775808", "1e3s", "5µs", ".5s", "1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &params{q: url.Values{"minDuration": {v}}}
		d, err := p.duration("minDuration")
		if err != nil {
			wantBadParameter(t, err, "minDuration")
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed to a negative duration %v", v, d)
		}
	})
}

func FuzzLimit(f *testing.F) {
	for _, s := range []string{"20", "1", "1000", "0", "-5", "1001", "1e3", " 5", "0x10", "99999999999999999999", "+7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &params{q: url.Values{"limit": {v}}}
		n, err := p.limit("limit", defaultSearchLimit, 1000)
		if err != nil {
			wantBadParameter(t, err, "limit")
			return
		}
		if n < 1 || n > 1000 {
			t.Fatalf("%q gave limit %d, outside 1..1000", v, n)
		}
	})
}

func FuzzTraceID(f *testing.F) {
	for _, s := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "4BF92F3577B34DA6A3CE929D0E0E4736", "abc", "0", "00000000000000000000000000000000",
		"4bf92f3577b34da6a3ce929d0e0e47361", "zz", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, err := traceID("traceId", v)
		if err != nil {
			wantBadParameter(t, err, "traceId")
			return
		}
		if !reader.ValidTraceID(id) || !strings.HasSuffix(id, strings.ToLower(v)) {
			t.Fatalf("%q normalised to %q", v, id)
		}
	})
}

func FuzzCursor(f *testing.F) {
	for _, c := range []reader.Cursor{{Time: 1793527199123456789, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}, {Time: -1, TraceID: "00000000000000000000000000000001"}} {
		f.Add(c.String())
	}
	for _, s := range []string{"", "MTc5", "not a cursor", "MTc5MzUyNzE5OTEyMzQ1Njc4OS40YmY5MmYzNTc3YjM0ZGE2YTNjZTkyOWQwZTBlNDczNg=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := reader.ParseCursor(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		if !reader.ValidTraceID(c.TraceID) {
			t.Fatalf("%q gave trace id %q", v, c.TraceID)
		}
		back, err := reader.ParseCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("%q: cursor %+v does not survive its own encoding: %+v, %v", v, c, back, err)
		}
	})
}

func FuzzAttributeFilters(f *testing.F) {
	for _, s := range []string{"attr.http.route=/users", "resource.faas.instance=orders-3-a", "attr.=x", "attr.k=", "resource.=",
		"attr.a=1&attr.a=2", "attr.k=%ZZ", "service=x&attr.k=v&unknown=1", "attr.%E2%9C%93=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers such a query string itself
		}
		ps, err := (&Server{}).newParamsOf(q, true, "service")
		if err != nil {
			var ae *apiError
			_, nameless := q[""]
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || (ae.body.Parameter == "" && !nameless) {
				t.Fatalf("%q: %#v, want a 400 naming the parameter", raw, err)
			}
			return
		}
		for _, a := range ps.attributes() {
			if a.Key == "" || (a.Scope != api.ScopeSpan && a.Scope != api.ScopeResource) {
				t.Fatalf("%q gave filter %+v", raw, a)
			}
			prefix := attrPrefix
			if a.Scope == api.ScopeResource {
				prefix = resourcePrefix
			}
			if got := q.Get(prefix + a.Key); got != a.Value {
				t.Fatalf("%q: filter %+v, the query says %q", raw, a, got)
			}
		}
	})
}

func FuzzJaegerTags(f *testing.F) {
	for _, s := range [][2]string{
		{`{"http.status_code":"500"}`, "error:true"}, {`{"error":true,"n":1.5}`, ""}, {`{"a":null}`, "k:v:w"},
		{`{"a":{"b":1}}`, ":v"}, {`[1,2]`, "novalue"}, {`{"":""}`, "k:"}, {`{"a":1e999}`, ""}, {"{\"\xff\":\"x\"}", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, object, pair string) {
		var objects, pairs []string
		if object != "" {
			objects = []string{object}
		}
		if pair != "" {
			pairs = []string{pair}
		}
		tags, err := jaegerTags(objects, pairs)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || (ae.body.Parameter != "tags" && ae.body.Parameter != "tag") {
				t.Fatalf("%q %q: %#v, want a 400 naming tags or tag", object, pair, err)
			}
			return
		}
		if k, v, ok := strings.Cut(pair, ":"); pair != "" && (!ok || tags[k] != v) {
			t.Fatalf("tag %q gave %v", pair, tags)
		}
	})
}

func FuzzLookback(f *testing.F) {
	for _, s := range []string{"1h", "2d", "custom", "0d", "-1d", "100000d", "100001d", "9999999999999999999d", "1.5h", "d", "h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseLookback(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		if d < 0 {
			t.Fatalf("%q gave a negative lookback %v", v, d)
		}
	})
}

// fuzzRoutes are the API's routes with values for their path parameters.
var fuzzRoutes = []string{
	"/api/v1/status", "/api/v1/openapi.json", "/api/v1/traces/{}", "/api/v1/traces", "/api/v1/services",
	"/api/v1/services/{}/operations", "/api/v1/functions", "/api/v1/functions/{}/timeseries",
	"/api/v1/functions/{}/instances", "/api/v1/dependencies", "/api/v1/attributes", "/api/v1/attributes/{}/values",
	"/api/services", "/api/services/{}/operations", "/api/operations", "/api/traces/{}", "/api/traces", "/api/dependencies",
}

// storageDown is a Server whose ClickHouse refuses connections (port 1
// of loopback: privileged, and no test binds it): every request that
// passes validation ends in 503 there, at once.
func storageDown(t testing.TB) *Server {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv, err := New(DefaultConfig(), reader.New(conn, schema.Options{Database: "coldtrace"}, reader.DefaultPrices()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// FuzzParameters sends any query string (and path parameter) to every
// endpoint: the answer is a 400 or 404 with the JSON error, or, once the
// parameters are valid, what a storage outage gives (503); never a 500 or
// a panic.
func FuzzParameters(f *testing.F) {
	seeds := map[string]string{
		"/api/v1/traces":                  "service=orders&minDuration=100ms&maxDuration=1s&status=error&coldStart=true&errorType=timeout&attr.http.route=/x&resource.faas.instance=a&start=now-1h&end=now&limit=20",
		"/api/v1/functions/{}/timeseries": "metric=init_p50&step=5m&version=3&start=now-6h",
		"/api/v1/attributes/{}/values":    "scope=resource&limit=5&service=orders",
		"/api/traces":                     "service=orders&tags=%7B%22error%22%3A%22true%22%7D&tag=a:b&lookback=2d&limit=1500&minDuration=1ms",
		"/api/dependencies":               "endTs=1793527200000&lookback=3600000",
		"/api/traces/{}":                  "start=1793527200000000&end=1793527300000000",
	}
	for i, route := range fuzzRoutes {
		f.Add(uint8(i), seeds[route], "4bf92f3577b34da6a3ce929d0e0e4736")
	}
	f.Add(uint8(3), "start=now-1h&start=now-2h", "x")
	f.Add(uint8(7), "metric=invocations&step=30s", "orders")
	f.Add(uint8(16), "traceID=1&traceID=zz", "")
	srv := storageDown(f)
	f.Fuzz(func(t *testing.T, route uint8, rawQuery, param string) {
		path := strings.ReplaceAll(fuzzRoutes[int(route)%len(fuzzRoutes)], "{}", url.PathEscape(param))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: path, RawQuery: rawQuery}
		if escaped := url.PathEscape(param); escaped != param {
			req.URL.RawPath = strings.ReplaceAll(fuzzRoutes[int(route)%len(fuzzRoutes)], "{}", escaped)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusServiceUnavailable:
			return
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("GET %s?%s: %d %s", path, rawQuery, w.Code, w.Body)
		}
		var e api.ErrorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || !utf8.ValidString(e.Error.Message) {
			t.Fatalf("GET %s?%s: %d with body %q, want the JSON error", path, rawQuery, w.Code, w.Body)
		}
		// A 400 names its parameter, unless that has no name.
		if _, nameless := req.URL.Query()[""]; w.Code == http.StatusBadRequest && e.Error.Parameter == "" && !(nameless && e.Error.Code == api.CodeUnknownParameter) {
			t.Fatalf("GET %s?%s: a 400 naming no parameter: %s", path, rawQuery, w.Body)
		}
	})
}

// now-<lookback> takes what durations take: Go durations, days and weeks.
func TestInstantLookbackUnits(t *testing.T) {
	for v, back := range map[string]time.Duration{
		"now-90m": 90 * time.Minute, "now-2d": 48 * time.Hour, "now-1w": 7 * 24 * time.Hour, "now-0d": 0,
	} {
		got, err := parseInstant(v, fuzzNow)
		if err != nil || !got.Equal(fuzzNow.Add(-back)) {
			t.Errorf("%s: %v, %v; want %v", v, got, err, fuzzNow.Add(-back))
		}
		if d, err := parseDuration(strings.TrimPrefix(v, "now-")); err != nil || d != back {
			t.Errorf("duration %s: %v, %v; want %v", strings.TrimPrefix(v, "now-"), d, err, back)
		}
	}
	for _, v := range []string{"now-1y", "now-w", "now--1d", "now-100001d"} {
		if _, err := parseInstant(v, fuzzNow); err == nil {
			t.Errorf("%s parsed", v)
		}
	}
}
