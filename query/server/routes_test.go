package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
	"github.com/coldtrace/coldtrace/query/server"
	"github.com/coldtrace/coldtrace/ui"
)

// offlineServer is a server whose storage is never reached: enough for
// routing, parameter validation and the UI.
func offlineServer(t *testing.T, ui http.Handler) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.UI = ui
	srv, err := server.New(cfg, reader.New(nil, schema.Options{Database: "none"}, reader.DefaultPrices()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// The OpenAPI document describes exactly the registered routes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := openAPI(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	registered := offlineServer(t, nil).Routes()
	sort.Strings(documented)
	sort.Strings(registered)
	if strings.Join(documented, "\n") != strings.Join(registered, "\n") {
		t.Errorf("openapi.json paths:\n%s\n\nregistered routes:\n%s", strings.Join(documented, "\n"), strings.Join(registered, "\n"))
	}
}

// The OpenAPI document says that every route takes a bearer token and
// answers 401 without one when authentication is on, and the 401 of the
// wrapper coldtrace puts before the API (cmd/coldtrace, apiHandler)
// matches it.
func TestOpenAPIDocumentsAuthentication(t *testing.T) {
	doc, _ := openAPI(t)
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("security scheme bearerAuth: %+v", s)
	}
	if len(doc.Security) == 0 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("the document's security does not require bearerAuth: %+v", doc.Security)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s %s: no 401 response", method, path)
			}
		}
	}
	authn, err := auth.New(auth.Config{Token: "a-token-for-the-query-api"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(authn.HTTPRefusing(auth.ScopeQuery, offlineServer(t, nil), server.WriteUnauthorized))
	t.Cleanup(ts.Close)
	for _, path := range []string{"/api/v1/openapi.json", "/api/v1/traces/abc", "/api/traces/abc"} {
		r := get(t, ts, path)
		if r.status != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, r.status)
			continue
		}
		var body struct {
			Error  api.Error `json:"error"`
			Errors []struct {
				Code int `json:"code"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Code != api.CodeUnauthorized {
			t.Errorf("GET %s without a token: body %s, want the error shape with code %s", path, r.body, api.CodeUnauthorized)
		}
		if jaeger := !strings.HasPrefix(path, api.Prefix); jaeger && (len(body.Errors) != 1 || body.Errors[0].Code != http.StatusUnauthorized) {
			t.Errorf("GET %s without a token: body %s, want Jaeger's errors[0].code 401", path, r.body)
		}
	}
}

// Every timeseries metric has a unit, and openapi.json lists exactly them.
func TestTimeseriesMetrics(t *testing.T) {
	doc, _ := openAPI(t)
	if len(reader.MetricUnits) != len(api.Metrics) {
		t.Errorf("metrics with units %v, api.Metrics %v", reader.MetricUnits, api.Metrics)
	}
	for _, m := range api.Metrics {
		if _, ok := reader.MetricUnits[m]; !ok {
			t.Errorf("metric %s has no unit", m)
		}
	}
	op := doc.Paths.Find("/api/v1/functions/{name}/timeseries").Get
	param := op.Parameters.GetByInAndName("query", "metric")
	for _, enum := range [][]any{param.Schema.Value.Enum, doc.Components.Schemas["Timeseries"].Value.Properties["metric"].Value.Enum} {
		var got []string
		for _, v := range enum {
			got = append(got, v.(string))
		}
		if strings.Join(got, ",") != strings.Join(api.Metrics, ",") {
			t.Errorf("openapi.json metric enum %v, want %v", got, api.Metrics)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, mutate := range []func(*server.Config){
		func(c *server.Config) { c.DefaultWindow = 0 },
		func(c *server.Config) { c.MaxWindow = c.DefaultWindow / 2 },
		func(c *server.Config) { c.QueryTimeout = 0 },
		func(c *server.Config) { c.MaxLimit = 0 },
	} {
		cfg := server.DefaultConfig()
		mutate(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%+v validated", cfg)
		}
	}
	if err := server.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestUIFallback(t *testing.T) {
	files := fstest.MapFS{
		"index.html":    {Data: []byte("<html>index</html>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	app, err := ui.New(files)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(offlineServer(t, app))
	defer ts.Close()
	for path, want := range map[string]string{
		"/":                "<html>index</html>",
		"/assets/app.js":   "console.log(1)",
		"/traces/abc":      "<html>index</html>", // a client-side route
		"/functions/x/y/z": "<html>index</html>",
	} {
		res, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("%s: %d %q, want %q", path, res.StatusCode, body, want)
		}
	}
	// The operational endpoints are not routes of the app: with
	// --admin-addr they are served on another listener, and a probe of
	// this one must not get the app's HTML with a 200.
	for _, path := range []string{"/assets/missing.js", "/api/v1/nope", "/api/nope/deeper", "/readyz", "/healthz", "/metrics"} {
		res, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
		if strings.HasPrefix(path, "/api/") && !strings.Contains(string(body), `"not_found"`) {
			t.Errorf("%s: body %s is not the JSON error", path, body)
		}
	}
	// Without a UI every non-API path is a 404.
	bare := httptest.NewServer(offlineServer(t, nil))
	defer bare.Close()
	res, err := bare.Client().Get(bare.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/ without a UI: %d", res.StatusCode)
	}
}

// Bad parameters are refused before storage is asked anything.
func TestParametersRefusedOffline(t *testing.T) {
	ts := httptest.NewServer(offlineServer(t, nil))
	defer ts.Close()
	for _, path := range []string{
		"/api/v1/traces?start=now-1h&end=now-2h",
		"/api/v1/traces/zz",
		"/api/v1/functions?unknown=1",
		"/api/traces?limit=5000&service=x",
		"/api/dependencies?endTs=soon",
	} {
		r := get(t, ts, path)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}
