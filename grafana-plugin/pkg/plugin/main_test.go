package plugin_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/internal/coldtracetest"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/plugin"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Every test of this package runs against one real Coldtrace holding the
// seeded data set.
var (
	coldtraceSrv *coldtracetest.Server
	seeded       coldtracetest.Dataset
	workDir      string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "coldtrace-grafana-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	coldtraceSrv, err = coldtracetest.Start(ctx, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Coldtrace:", err)
		return 1
	}
	defer func() {
		if err := coldtraceSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping Coldtrace:", err)
		}
	}()
	if seeded, err = coldtraceSrv.Seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "seeding Coldtrace:", err, "\n--- coldtrace log ---\n", coldtraceSrv.Log())
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "--- coldtrace log ---\n"+coldtraceSrv.Log())
	}
	return code
}

// instanceSettings are the settings Grafana would pass for a data source
// with this jsonData and API token.
func instanceSettings(jsonData map[string]any, token string) backend.DataSourceInstanceSettings {
	raw, _ := json.Marshal(jsonData)
	s := backend.DataSourceInstanceSettings{UID: "coldtrace-test", Name: "Coldtrace", Type: plugin.PluginID, JSONData: raw}
	if token != "" {
		s.DecryptedSecureJSONData = map[string]string{"apiToken": token}
	}
	return s
}

// defaultSettings point at the test's Coldtrace.
func defaultSettings() backend.DataSourceInstanceSettings {
	return instanceSettings(map[string]any{"url": coldtraceSrv.URL}, "")
}

func newDatasource(t testing.TB, s backend.DataSourceInstanceSettings) *plugin.Datasource {
	t.Helper()
	inst, err := plugin.NewDatasource(context.Background(), s)
	if err != nil {
		t.Fatalf("NewDatasource: %v", err)
	}
	d := inst.(*plugin.Datasource)
	t.Cleanup(d.Dispose)
	return d
}

// dataQuery is a query as a panel over the seeded window sends it.
func dataQuery(model map[string]any) backend.DataQuery {
	raw, _ := json.Marshal(model)
	qt, _ := model["queryType"].(string)
	return backend.DataQuery{
		RefID:         "A",
		QueryType:     qt,
		JSON:          raw,
		TimeRange:     backend.TimeRange{From: seeded.From, To: seeded.To},
		Interval:      time.Minute,
		MaxDataPoints: 1000,
	}
}

func queryOne(t testing.TB, d backend.QueryDataHandler, q backend.DataQuery) backend.DataResponse {
	t.Helper()
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{PluginID: plugin.PluginID},
		Queries:       []backend.DataQuery{q},
	})
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	r, ok := resp.Responses[q.RefID]
	if !ok {
		t.Fatalf("no response for refId %s", q.RefID)
	}
	return r
}

// mustQuery runs a query that must succeed.
func mustQuery(t testing.TB, d backend.QueryDataHandler, model map[string]any) backend.DataResponse {
	t.Helper()
	r := queryOne(t, d, dataQuery(model))
	if r.Error != nil {
		t.Fatalf("query %v: %v", model, r.Error)
	}
	return r
}
