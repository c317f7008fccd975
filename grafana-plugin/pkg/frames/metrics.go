package frames

import (
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// Labels of metric series.
const (
	LabelFunction = "function"
	LabelVersion  = "version"
)

// Timeseries builds one series of a function metric: a time field and a
// value field labelled with the function (and version), the multi-frame
// time series shape that panels and alert rules both read. Durations come
// in milliseconds so alert thresholds read naturally.
func Timeseries(ts coldtrace.Timeseries, version string) *data.Frame {
	n := len(ts.Points)
	times, values := make([]time.Time, n), make([]*float64, n)
	scale, unit := seriesUnit(ts.Unit)
	for i, p := range ts.Points {
		times[i] = time.Unix(0, p.TimeUnixNano).UTC()
		if p.Value != nil {
			v := *p.Value * scale
			values[i] = &v
		}
	}
	labels := data.Labels{LabelFunction: ts.Function}
	display := ts.Function
	if version != "" {
		labels[LabelVersion] = version
		display += " " + version
	}
	f := data.NewFrame(ts.Function,
		data.NewField("time", nil, times),
		data.NewField(ts.Metric, labels, values).SetConfig(&data.FieldConfig{
			DisplayNameFromDS: display,
			Unit:              unit,
			Interval:          float64(ts.StepSeconds * 1000),
		}),
	)
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}

// seriesUnit maps an API unit to a scale factor and Grafana's unit id.
func seriesUnit(apiUnit string) (float64, string) {
	switch apiUnit {
	case coldtrace.UnitNanoseconds:
		return 1e-6, unitMs
	case coldtrace.UnitRatio:
		return 1, unitPercent
	case coldtrace.UnitUSD:
		return 1, unitUSD
	default:
		return 1, unitShort
	}
}
