package plugin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
)

// goldenEpoch replaces the seeded data set's base time in golden files:
// the data must be recent to survive Coldtrace's retention, the files
// must not change with the clock.
var goldenEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestGoldenFrames pins the exact frames (and their JSON, which is what
// Grafana's frontend receives) of every query type over the seeded data.
// Run with -update to rewrite testdata/*.jsonc after an intended change.
// The frontend's Jest tests read testdata/trace.jsonc to check the trace
// frame through @grafana/data.
func TestGoldenFrames(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	for name, model := range map[string]map[string]any{
		"trace":   {"queryType": "trace", "traceId": seeded.GoldenTraceID},
		"search":  {"queryType": "search", "service": "checkout", "coldStart": true},
		"metrics": {"queryType": "metrics", "metric": "coldstarts", "function": "checkout"},
		// checkout's two cold starts (init 120.5 and 150 ms) share the first step.
		"metrics-init-p50": {"queryType": "metrics", "metric": "init_p50", "function": "checkout"},
		"functions":        {"queryType": "functions"},
		"servicemap":       {"queryType": "serviceMap"},
	} {
		t.Run(name, func(t *testing.T) {
			q := dataQuery(model)
			if strings.HasPrefix(name, "metrics") {
				q.Interval = 5 * time.Minute
				// A window on the data set's whole minutes, so steps align
				// with it whatever the clock says.
				q.TimeRange = backend.TimeRange{From: seeded.Base, To: seeded.Base.Add(10 * time.Minute)}
			}
			r := queryOne(t, d, q)
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			for _, f := range r.Frames {
				rebaseTimes(t, f, seeded.Base)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &r, *updateGolden)
		})
	}
}

// rebaseTimes moves every instant of f from base to goldenEpoch.
func rebaseTimes(t *testing.T, f *data.Frame, base time.Time) {
	t.Helper()
	shift := goldenEpoch.Sub(base)
	shiftMs := float64(shift.Nanoseconds()) / 1e6
	for _, fd := range f.Fields {
		for i := range fd.Len() {
			switch v := fd.At(i).(type) {
			case time.Time:
				fd.Set(i, v.Add(shift))
			case *time.Time:
				if v != nil {
					s := v.Add(shift)
					fd.Set(i, &s)
				}
			case float64:
				if fd.Name == "startTime" {
					fd.Set(i, v+shiftMs)
				}
			case json.RawMessage:
				if fd.Name == "logs" {
					fd.Set(i, rebaseLogs(t, v, shiftMs))
				}
			}
		}
	}
}

func rebaseLogs(t *testing.T, raw json.RawMessage, shiftMs float64) json.RawMessage {
	t.Helper()
	var logs []map[string]any
	if err := json.Unmarshal(raw, &logs); err != nil {
		t.Fatalf("logs %s: %v", raw, err)
	}
	for _, l := range logs {
		l["timestamp"] = l["timestamp"].(float64) + shiftMs
	}
	out, err := json.Marshal(logs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenResources pins what the editors' dropdowns receive over the
// seeded data; the frontend's Jest tests feed testdata/resources.json to
// the editors as the answers of getResource.
func TestGoldenResources(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	window := fmt.Sprintf("from=%d&to=%d", seeded.From.UnixMilli(), seeded.To.UnixMilli())
	got := map[string]json.RawMessage{}
	for _, path := range []string{
		"services", "operations?service=checkout", "operations?service=payments", "functions",
		"attributes", "attribute-values?key=faas.trigger", "attribute-values?key=faas.instance", "attribute-values?key=resource.faas.instance",
	} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		status, body := callResource(t, d, path+sep+window)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		got[path] = json.RawMessage(body)
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	file := filepath.Join("testdata", "resources.json")
	if *updateGolden {
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(out) {
		t.Errorf("resources differ from %s (run with -update after an intended change):\n%s", file, out)
	}
}
