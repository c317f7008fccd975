package plugin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/internal/coldtracetest"
)

// The API token of secureJsonData reaches a Coldtrace that requires one
// (`coldtrace up --auth-token`): with it the health check, queries and the
// editors' resources work; without it, or with another token, each fails
// saying to check the token.
func TestAPIToken(t *testing.T) {
	const token = "grafana-plugin-test-token-0123456789"
	srv, err := coldtracetest.StartWith(t.Context(), t.TempDir(), coldtracetest.Options{AuthToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	data, err := srv.Seed(t.Context())
	if err != nil {
		t.Fatalf("seeding with the token: %v\n%s", err, srv.Log())
	}
	settings := func(tok string) backend.DataSourceInstanceSettings {
		return instanceSettings(map[string]any{"url": srv.URL}, tok)
	}
	search := map[string]any{"queryType": "search", "coldStart": true}
	window := fmt.Sprintf("from=%d&to=%d", data.From.UnixMilli(), data.To.UnixMilli())

	t.Run("with the token", func(t *testing.T) {
		d := newDatasource(t, settings(token))
		res, err := d.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
		if err != nil || res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, fmt.Sprintf("%d spans stored", data.Spans)) {
			t.Fatalf("health = %+v, %v", res, err)
		}
		r := queryOne(t, d, searchQuery(search, data))
		if r.Error != nil || r.Frames[0].Rows() != len(data.ColdStartTraceIDs) {
			t.Errorf("search: %v, %d rows, want %d", r.Error, r.Frames[0].Rows(), len(data.ColdStartTraceIDs))
		}
		if status, body := callResource(t, d, "functions?"+window); status != http.StatusOK || !strings.Contains(string(body), "checkout") {
			t.Errorf("functions resource: %d %s", status, body)
		}
	})
	for name, tok := range map[string]string{"without a token": "", "with another token": "not-the-token-0123456789"} {
		t.Run(name, func(t *testing.T) {
			d := newDatasource(t, settings(tok))
			res, err := d.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
			if err != nil || res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "401") || !strings.Contains(res.Message, "API token") {
				t.Errorf("health = %+v, %v: want an error naming the 401 and the token", res, err)
			}
			r := queryOne(t, d, searchQuery(search, data))
			if r.Error == nil || !strings.Contains(r.Error.Error(), "API token") {
				t.Errorf("search error %v, want one about the token", r.Error)
			}
			if status, body := callResource(t, d, "functions?"+window); status == http.StatusOK || !strings.Contains(string(body), "API token") {
				t.Errorf("functions resource: %d %s, want an error about the token", status, body)
			}
		})
	}
}

// searchQuery is a query of model over the data set's window.
func searchQuery(model map[string]any, data coldtracetest.Dataset) backend.DataQuery {
	q := dataQuery(model)
	q.TimeRange = backend.TimeRange{From: data.From, To: data.To}
	return q
}
