package frames

import (
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// Grafana unit ids used by the frames.
const (
	unitMs      = "ms"
	unitNs      = "ns"
	unitPercent = "percentunit"
	unitUSD     = "currencyUSD"
	unitBytes   = "bytes"
	unitShort   = "short"
)

// DataSourceRef names the data source a frame's internal links query.
type DataSourceRef struct {
	UID  string
	Name string
}

// TraceLinkQuery is the query a search result's trace ID opens: the
// trace query of this data source for the clicked trace ID.
func TraceLinkQuery() map[string]any {
	return map[string]any{"queryType": "trace", "traceId": "${__value.raw}"}
}

// Search builds the table of a trace search, newest first; its traceID
// cells open the trace in Explore's trace view.
func Search(s coldtrace.TraceSearch, ds DataSourceRef) *data.Frame {
	n := len(s.Traces)
	var (
		traceID, service, operation = make([]string, n), make([]string, n), make([]string, n)
		errorTypes, services        = make([]string, n), make([]string, n)
		start                       = make([]time.Time, n)
		duration, cost              = make([]float64, n), make([]float64, n)
		spans, errs                 = make([]int64, n), make([]int64, n)
		coldStart                   = make([]bool, n)
	)
	for i, t := range s.Traces {
		traceID[i], service[i], operation[i] = t.TraceID, t.RootService, t.RootOperation
		start[i] = t.StartTime()
		duration[i] = float64(t.DurationNano) / 1e6
		spans[i], errs[i] = int64(t.SpanCount), int64(t.ErrorCount)
		coldStart[i] = t.ColdStart
		errorTypes[i], services[i] = strings.Join(t.ErrorTypes, ", "), strings.Join(t.Services, ", ")
		cost[i] = t.CostUSD
	}
	idField := data.NewField("traceID", nil, traceID).SetConfig(&data.FieldConfig{
		DisplayName: "Trace ID",
		Links: []data.DataLink{{
			Title:    "Open trace",
			Internal: &data.InternalDataLink{Query: TraceLinkQuery(), DatasourceUID: ds.UID, DatasourceName: ds.Name},
		}},
	})
	f := data.NewFrame("Traces",
		idField,
		data.NewField("startTime", nil, start).SetConfig(&data.FieldConfig{DisplayName: "Start"}),
		data.NewField("service", nil, service).SetConfig(&data.FieldConfig{DisplayName: "Root service"}),
		data.NewField("operation", nil, operation).SetConfig(&data.FieldConfig{DisplayName: "Root operation"}),
		data.NewField("duration", nil, duration).SetConfig(&data.FieldConfig{DisplayName: "Duration", Unit: unitMs}),
		data.NewField("spans", nil, spans).SetConfig(&data.FieldConfig{DisplayName: "Spans"}),
		data.NewField("errors", nil, errs).SetConfig(&data.FieldConfig{DisplayName: "Errors"}),
		data.NewField("coldStart", nil, coldStart).SetConfig(&data.FieldConfig{DisplayName: "Cold start"}),
		data.NewField("errorTypes", nil, errorTypes).SetConfig(&data.FieldConfig{DisplayName: "Error types"}),
		data.NewField("services", nil, services).SetConfig(&data.FieldConfig{DisplayName: "Services"}),
		data.NewField("cost", nil, cost).SetConfig(&data.FieldConfig{DisplayName: "Cost", Unit: unitUSD}),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return f
}

// Functions builds the functions summary table: one row per function
// version.
func Functions(fs coldtrace.Functions) *data.Frame {
	n := len(fs.Functions)
	var (
		name, version                            = make([]string, n), make([]string, n)
		invocations, coldStarts                  = make([]int64, n), make([]int64, n)
		timeouts, errs, throttles                = make([]int64, n), make([]int64, n), make([]int64, n)
		coldStartRate, avg, gbSeconds, cost      = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		initP50, initP95, durP50, durP95, durP99 = make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n)
		maxMem, memLimit                         = make([]int64, n), make([]int64, n)
	)
	for i, f := range fs.Functions {
		name[i], version[i] = f.Name, f.Version
		invocations[i], coldStarts[i] = int64(f.Invocations), int64(f.ColdStarts)
		timeouts[i], errs[i], throttles[i] = int64(f.Timeouts), int64(f.Errors), int64(f.Throttles)
		coldStartRate[i] = f.ColdStartRate
		avg[i] = f.AvgDurationNano / 1e6
		gbSeconds[i], cost[i] = f.BilledGBSeconds, f.Cost.TotalUSD
		if q := f.InitDuration; q != nil {
			initP50[i], initP95[i] = ms(q.P50Nano), ms(q.P95Nano)
		}
		if q := f.Duration; q != nil {
			durP50[i], durP95[i], durP99[i] = ms(q.P50Nano), ms(q.P95Nano), ms(q.P99Nano)
		}
		maxMem[i], memLimit[i] = int64(f.MaxMemoryUsedBytes), int64(f.MemoryLimitBytes)
	}
	field := func(name, display, unit string, values any) *data.Field {
		return data.NewField(name, nil, values).SetConfig(&data.FieldConfig{DisplayName: display, Unit: unit})
	}
	f := data.NewFrame("Functions",
		field("function", "Function", "", name),
		field("version", "Version", "", version),
		field("invocations", "Invocations", unitShort, invocations),
		field("coldStarts", "Cold starts", unitShort, coldStarts),
		field("coldStartRate", "Cold start rate", unitPercent, coldStartRate),
		field("initP50", "Init p50", unitMs, initP50),
		field("initP95", "Init p95", unitMs, initP95),
		field("durationP50", "Duration p50", unitMs, durP50),
		field("durationP95", "Duration p95", unitMs, durP95),
		field("durationP99", "Duration p99", unitMs, durP99),
		field("durationAvg", "Duration avg", unitMs, avg),
		field("timeouts", "Timeouts", unitShort, timeouts),
		field("errors", "Errors", unitShort, errs),
		field("throttles", "Throttles", unitShort, throttles),
		field("billedGbSeconds", "Billed GB-s", unitShort, gbSeconds),
		field("cost", "Cost", unitUSD, cost),
		field("maxMemoryUsed", "Max memory used", unitBytes, maxMem),
		field("memoryLimit", "Memory limit", unitBytes, memLimit),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return f
}

func ms(nano float64) *float64 {
	v := nano / 1e6
	return &v
}
