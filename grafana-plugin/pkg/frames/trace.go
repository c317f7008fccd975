// Package frames turns Coldtrace API responses into the Grafana data
// frames each panel type reads: Explore's trace view, tables, time series
// and the node graph.
package frames

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// keyValue is Grafana's TraceKeyValuePair.
type keyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// traceLog is Grafana's TraceLog: a span event.
type traceLog struct {
	Timestamp float64    `json:"timestamp"` // ms since epoch
	Name      string     `json:"name,omitempty"`
	Fields    []keyValue `json:"fields"`
}

// spanReference is Grafana's TraceSpanReference: a span link.
type spanReference struct {
	TraceID string     `json:"traceID"`
	SpanID  string     `json:"spanID"`
	Tags    []keyValue `json:"tags,omitempty"`
}

// Status codes of the trace frame's statusCode field (OpenTelemetry's
// numbering, which Grafana's trace view reads: 2 marks an error).
const (
	statusCodeUnset int64 = 0
	statusCodeOK    int64 = 1
	statusCodeError int64 = 2
)

// Tags the plugin adds to invocation spans from Coldtrace's serverless
// columns (the others, such as faas.coldstart, are span attributes).
const (
	tagCostUSD = "coldtrace.cost_usd"
)

// Trace builds the frame Explore's trace view renders: one row per span,
// with the field names and types of Grafana's TraceSpanRow.
func Trace(t coldtrace.Trace) (*data.Frame, error) {
	n := len(t.Spans)
	var (
		traceID, spanID, parentSpanID = make([]string, n), make([]string, n), make([]string, n)
		operationName, serviceName    = make([]string, n), make([]string, n)
		kind, statusMessage           = make([]string, n), make([]string, n)
		libName, libVersion, state    = make([]string, n), make([]string, n), make([]string, n)
		statusCode                    = make([]int64, n)
		startTime, duration           = make([]float64, n), make([]float64, n)
		serviceTags, tags             = make([]json.RawMessage, n), make([]json.RawMessage, n)
		logs, references, warnings    = make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n)
	)
	for i, s := range t.Spans {
		traceID[i], spanID[i], parentSpanID[i] = s.TraceID, s.SpanID, s.ParentSpanID
		operationName[i], serviceName[i], kind[i] = s.Name, s.Service, s.Kind
		statusCode[i], statusMessage[i] = spanStatusCode(s.Status.Code), s.Status.Message
		libName[i], libVersion[i], state[i] = s.Scope.Name, s.Scope.Version, s.TraceState
		startTime[i] = float64(s.StartTimeUnixNano) / 1e6
		duration[i] = float64(s.DurationNano) / 1e6

		var err error
		if serviceTags[i], err = json.Marshal(keyValues(s.Resource.Attributes)); err != nil {
			return nil, fmt.Errorf("span %s: resource attributes: %w", s.SpanID, err)
		}
		if tags[i], err = json.Marshal(spanTags(s)); err != nil {
			return nil, fmt.Errorf("span %s: attributes: %w", s.SpanID, err)
		}
		if logs[i], err = json.Marshal(spanLogs(s.Events)); err != nil {
			return nil, fmt.Errorf("span %s: events: %w", s.SpanID, err)
		}
		if references[i], err = json.Marshal(spanReferences(s.Links)); err != nil {
			return nil, fmt.Errorf("span %s: links: %w", s.SpanID, err)
		}
		if warnings[i], err = json.Marshal(spanWarnings(s)); err != nil {
			return nil, fmt.Errorf("span %s: warnings: %w", s.SpanID, err)
		}
	}
	f := data.NewFrame("Trace",
		data.NewField("traceID", nil, traceID),
		data.NewField("spanID", nil, spanID),
		data.NewField("parentSpanID", nil, parentSpanID),
		data.NewField("operationName", nil, operationName),
		data.NewField("serviceName", nil, serviceName),
		data.NewField("kind", nil, kind),
		data.NewField("statusCode", nil, statusCode),
		data.NewField("statusMessage", nil, statusMessage),
		data.NewField("instrumentationLibraryName", nil, libName),
		data.NewField("instrumentationLibraryVersion", nil, libVersion),
		data.NewField("traceState", nil, state),
		data.NewField("serviceTags", nil, serviceTags),
		data.NewField("startTime", nil, startTime),
		data.NewField("duration", nil, duration),
		data.NewField("logs", nil, logs),
		data.NewField("references", nil, references),
		data.NewField("tags", nil, tags),
		data.NewField("warnings", nil, warnings),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTrace}
	// The panel shows notices above the trace: that it is incomplete is
	// worth seeing before reading it.
	for _, w := range t.Warnings {
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: w})
	}
	return f, nil
}

func spanStatusCode(code string) int64 {
	switch code {
	case coldtrace.StatusError:
		return statusCodeError
	case coldtrace.StatusOK:
		return statusCodeOK
	default:
		return statusCodeUnset
	}
}

func keyValues(attrs []coldtrace.Attribute) []keyValue {
	out := make([]keyValue, 0, len(attrs))
	for _, a := range attrs {
		v := a.Value
		if len(v) == 0 {
			v = json.RawMessage(`null`)
		}
		out = append(out, keyValue{Key: a.Key, Value: v})
	}
	return out
}

func spanTags(s coldtrace.Span) []keyValue {
	tags := keyValues(s.Attributes)
	if s.Faas != nil && s.Faas.CostUSD > 0 {
		tags = append(tags, keyValue{Key: tagCostUSD, Value: json.RawMessage(strconv.FormatFloat(s.Faas.CostUSD, 'g', -1, 64))})
	}
	return tags
}

func spanLogs(events []coldtrace.Event) []traceLog {
	if len(events) == 0 {
		return nil
	}
	out := make([]traceLog, 0, len(events))
	for _, e := range events {
		out = append(out, traceLog{Timestamp: float64(e.TimeUnixNano) / 1e6, Name: e.Name, Fields: keyValues(e.Attributes)})
	}
	return out
}

func spanReferences(links []coldtrace.Link) []spanReference {
	if len(links) == 0 {
		return nil
	}
	out := make([]spanReference, 0, len(links))
	for _, l := range links {
		ref := spanReference{TraceID: l.TraceID, SpanID: l.SpanID}
		if len(l.Attributes) > 0 {
			ref.Tags = keyValues(l.Attributes)
		}
		out = append(out, ref)
	}
	return out
}

// spanWarnings explain a failed invocation in the trace view's span
// header, where a bare error flag would say nothing about timeouts or
// memory.
func spanWarnings(s coldtrace.Span) []string {
	f := s.Faas
	if f == nil || f.ErrorType == "" {
		return nil
	}
	switch f.ErrorType {
	case "timeout":
		if f.TimeoutNano > 0 {
			return []string{fmt.Sprintf("Invocation timed out: it ran into its %s timeout", formatMs(f.TimeoutNano))}
		}
		return []string{"Invocation timed out"}
	case "out_of_memory":
		if f.MemoryLimitBytes > 0 {
			return []string{fmt.Sprintf("Invocation ran out of memory: %d of %d bytes used", f.MaxMemoryUsedBytes, f.MemoryLimitBytes)}
		}
		return []string{"Invocation ran out of memory"}
	default:
		return []string{"Invocation failed: " + f.ErrorType}
	}
}

func formatMs(nano uint64) string {
	return strconv.FormatFloat(float64(nano)/1e6, 'f', -1, 64) + " ms"
}
