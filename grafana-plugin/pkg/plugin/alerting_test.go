package plugin_test

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/frames"
)

// TestAlertRuleQuery sends a metrics query the way Grafana's alerting
// evaluates a rule: from the backend only, with its own interval and
// data-point limits. The answer must be numeric series told apart by
// labels, one per function, which is what alert conditions reduce.
func TestAlertRuleQuery(t *testing.T) {
	d := newDatasource(t, defaultSettings())
	q := dataQuery(map[string]any{"refId": "A", "queryType": "metrics", "metric": "timeouts", "function": "*"})
	q.Interval, q.MaxDataPoints = time.Second, 43200
	resp, err := d.QueryData(t.Context(), &backend.QueryDataRequest{
		Headers: map[string]string{"FromAlert": "true"},
		Queries: []backend.DataQuery{q},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	seen := map[string]float64{}
	for _, f := range r.Frames {
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
			t.Errorf("frame %q meta %+v", f.Name, f.Meta)
		}
		if len(f.Fields) != 2 || f.Fields[0].Type() != data.FieldTypeTime || !f.Fields[1].Type().Numeric() {
			t.Fatalf("frame %q is not a time + number series: %d fields", f.Name, len(f.Fields))
		}
		v := f.Fields[1]
		fn := v.Labels[frames.LabelFunction]
		if _, dup := seen[fn]; dup || fn == "" {
			t.Errorf("series label %q missing or repeated", fn)
		}
		for i := range v.Len() {
			if p := v.At(i).(*float64); p != nil {
				seen[fn] += *p
			}
		}
	}
	want := map[string]float64{}
	for fn, e := range seeded.Functions {
		want[fn] = float64(e.Timeouts)
	}
	if len(seen) != len(want) || seen["checkout"] != want["checkout"] || seen["thumbnail"] != 0 {
		t.Errorf("timeouts per function = %v, want %v", seen, want)
	}
}
