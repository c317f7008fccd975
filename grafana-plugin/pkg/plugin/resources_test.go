package plugin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/plugin"
)

// callResource calls a resource path the way Grafana forwards
// /api/datasources/uid/<uid>/resources/<path>.
func callResource(t *testing.T, h backend.CallResourceHandler, path string) (int, []byte) {
	t.Helper()
	var got *backend.CallResourceResponse
	err := h.CallResource(t.Context(), &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{PluginID: plugin.PluginID},
		Path:          strings.SplitN(path, "?", 2)[0],
		Method:        http.MethodGet,
		URL:           path,
	}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
		got = r
		return nil
	}))
	if err != nil {
		t.Fatalf("CallResource %s: %v", path, err)
	}
	if got == nil {
		t.Fatalf("CallResource %s: no response", path)
	}
	return got.Status, got.Body
}

func optionValues(t *testing.T, body []byte) []string {
	t.Helper()
	var opts []plugin.Option
	if err := json.Unmarshal(body, &opts); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	vals := make([]string, len(opts))
	for i, o := range opts {
		vals[i] = o.Value
	}
	return vals
}

func TestResources(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	window := fmt.Sprintf("from=%d&to=%d", seeded.From.UnixMilli(), seeded.To.UnixMilli())
	for _, tc := range []struct {
		path    string
		want    []string // exactly, in order; nil to check contains
		contain []string
	}{
		{path: "services?" + window, contain: []string{"checkout", "frontend", "payments", "report", "thumbnail"}},
		{path: "operations?service=checkout&" + window, contain: []string{"checkout", "init", "POST /charge"}},
		{path: "functions?" + window, want: []string{"checkout", "report", "thumbnail"}},
		{path: "functions", want: []string{"checkout", "report", "thumbnail"}}, // default: the last day
		{path: "attributes?" + window, contain: []string{"faas.trigger", "faas.coldstart", "resource.faas.name", "http.route"}},
		{path: "attribute-values?key=resource.faas.instance&" + window, contain: []string{"checkout-a", "checkout-b", "thumbnail-a"}},
		{path: "attributes?service=payments&" + window, contain: []string{"payment.provider"}},
		{path: "attribute-values?key=faas.trigger&" + window, contain: []string{"http", "pubsub", "timer"}},
		// A window without data lists nothing, as an empty array.
		{path: fmt.Sprintf("functions?from=%d&to=%d", seeded.From.Add(-3*time.Hour).UnixMilli(), seeded.From.Add(-2*time.Hour).UnixMilli()), want: []string{}},
	} {
		status, body := callResource(t, d, tc.path)
		if status != http.StatusOK {
			t.Errorf("%s: %d %s", tc.path, status, body)
			continue
		}
		got := optionValues(t, body)
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.path, got, tc.want)
		}
		for _, c := range tc.contain {
			if !slices.Contains(got, c) {
				t.Errorf("%s = %v, want it to contain %q", tc.path, got, c)
			}
		}
	}
	var svc []plugin.Option
	_, body := callResource(t, d, "services?"+window)
	_ = json.Unmarshal(body, &svc)
	for _, o := range svc {
		if fn := strings.HasPrefix(o.Description, "function"); fn != (o.Value != "frontend" && o.Value != "payments") {
			t.Errorf("service %s described as %q", o.Value, o.Description)
		}
	}
}

func TestResourceErrors(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	for path, want := range map[string]int{
		"operations":                  http.StatusBadRequest,
		"attribute-values":            http.StatusBadRequest,
		"functions?from=yesterday":    http.StatusBadRequest,
		"functions?from=2000&to=1000": http.StatusBadRequest,
		"nothing-here":                http.StatusNotFound,
		// A window the API refuses: wider than its maximum.
		fmt.Sprintf("services?from=%d&to=%d", time.Now().Add(-30*24*time.Hour).UnixMilli(), time.Now().UnixMilli()): http.StatusBadRequest,
	} {
		status, body := callResource(t, d, path)
		var e struct{ Message string }
		if status != want || json.Unmarshal(body, &e) != nil || e.Message == "" {
			t.Errorf("%s: %d %s, want %d with a message", path, status, body, want)
		}
	}
}
