// Package jaeger renders Coldtrace spans in Jaeger's JSON model, the one
// Jaeger's query service serves to Jaeger UI and Grafana's Jaeger data
// source: microsecond times, references for parents and links, one
// process (service name + resource tags) per distinct resource, typed
// tags. OpenTelemetry fields without a Jaeger counterpart become tags
// named as Jaeger's own OTLP translator names them.
package jaeger

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/coldtrace/coldtrace/query/api"
)

// Response is the envelope of every Jaeger API answer.
type Response struct {
	Data   any     `json:"data"`
	Total  int     `json:"total"`
	Limit  int     `json:"limit"`
	Offset int     `json:"offset"`
	Errors []Error `json:"errors"`
	// Error repeats the failure in Coldtrace's error shape.
	Error *api.Error `json:"error,omitempty"`
}

// Error is one entry of Response.Errors.
type Error struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// Trace is one trace.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is one span.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	Flags         uint32      `json:"flags"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	// StartTime is in unix microseconds, Duration in microseconds.
	StartTime int64      `json:"startTime"`
	Duration  int64      `json:"duration"`
	Tags      []KeyValue `json:"tags"`
	Logs      []Log      `json:"logs"`
	ProcessID string     `json:"processID"`
	Warnings  []string   `json:"warnings"`
}

// Reference types.
const (
	ChildOf     = "CHILD_OF"
	FollowsFrom = "FOLLOWS_FROM"
)

// Reference points to a parent (CHILD_OF) or linked (FOLLOWS_FROM) span.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Tag value types.
const (
	StringType  = "string"
	BoolType    = "bool"
	Int64Type   = "int64"
	Float64Type = "float64"
	BinaryType  = "binary"
)

// KeyValue is a typed tag.
type KeyValue struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Log is a span event.
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the service and resource that emitted spans.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Operation is a span name with its kind.
type Operation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

// DependencyLink is calls from one service to another.
type DependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// Tag keys Jaeger's OTLP translator uses for OpenTelemetry fields.
const (
	tagSpanKind      = "span.kind"
	tagStatusCode    = "otel.status_code"
	tagStatusMessage = "otel.status_description"
	tagError         = "error"
	tagScopeName     = "otel.scope.name"
	tagScopeVersion  = "otel.scope.version"
	tagTraceState    = "w3c.tracestate"
	fieldEvent       = "event"
)

// TraceBuilder converts the spans of one trace, giving each distinct
// resource a process id (p1, p2, ...) in order of appearance.
type TraceBuilder struct {
	processes map[string]Process
	ids       map[string]string
}

// NewTraceBuilder starts a trace.
func NewTraceBuilder() *TraceBuilder {
	return &TraceBuilder{processes: map[string]Process{}, ids: map[string]string{}}
}

// Processes are the processes of the spans converted so far.
func (b *TraceBuilder) Processes() map[string]Process { return b.processes }

// Span converts s.
func (b *TraceBuilder) Span(s *api.Span) Span {
	js := Span{
		TraceID:       s.TraceID,
		SpanID:        s.SpanID,
		Flags:         1,
		OperationName: s.Name,
		References:    make([]Reference, 0, 1+len(s.Links)),
		StartTime:     s.StartTimeUnixNano / 1000,
		Duration:      int64(s.DurationNano / 1000),
		Tags:          make([]KeyValue, 0, len(s.Attributes)+6),
		Logs:          make([]Log, 0, len(s.Events)),
		ProcessID:     b.process(s),
	}
	if s.ParentSpanID != "" {
		js.References = append(js.References, Reference{RefType: ChildOf, TraceID: s.TraceID, SpanID: s.ParentSpanID})
	}
	for _, l := range s.Links {
		js.References = append(js.References, Reference{RefType: FollowsFrom, TraceID: l.TraceID, SpanID: l.SpanID})
	}
	js.Tags = appendTags(js.Tags, s.Attributes)
	if s.Kind != api.KindUnspecified && s.Kind != "" {
		js.Tags = append(js.Tags, stringTag(tagSpanKind, s.Kind))
	}
	switch s.Status.Code {
	case api.StatusError:
		js.Tags = append(js.Tags, stringTag(tagStatusCode, "ERROR"), KeyValue{Key: tagError, Type: BoolType, Value: json.RawMessage("true")})
	case api.StatusOK:
		js.Tags = append(js.Tags, stringTag(tagStatusCode, "OK"))
	}
	if s.Status.Message != "" {
		js.Tags = append(js.Tags, stringTag(tagStatusMessage, s.Status.Message))
	}
	if s.Scope.Name != "" {
		js.Tags = append(js.Tags, stringTag(tagScopeName, s.Scope.Name))
	}
	if s.Scope.Version != "" {
		js.Tags = append(js.Tags, stringTag(tagScopeVersion, s.Scope.Version))
	}
	if s.TraceState != "" {
		js.Tags = append(js.Tags, stringTag(tagTraceState, s.TraceState))
	}
	for _, e := range s.Events {
		fields := make([]KeyValue, 0, 1+len(e.Attributes))
		fields = append(fields, stringTag(fieldEvent, e.Name))
		js.Logs = append(js.Logs, Log{Timestamp: e.TimeUnixNano / 1000, Fields: appendTags(fields, e.Attributes)})
	}
	return js
}

// process returns the id of s's process, adding it if new. service.name
// is the process's serviceName, not one of its tags.
func (b *TraceBuilder) process(s *api.Span) string {
	var key strings.Builder
	key.WriteString(s.Service)
	tags := make([]api.Attribute, 0, len(s.Resource.Attributes))
	for _, a := range s.Resource.Attributes {
		if a.Key == "service.name" {
			continue
		}
		tags = append(tags, a)
		key.WriteByte(0)
		key.WriteString(a.Key)
		key.WriteByte(0)
		key.Write(a.Value)
	}
	if id, ok := b.ids[key.String()]; ok {
		return id
	}
	id := "p" + strconv.Itoa(len(b.ids)+1)
	b.ids[key.String()] = id
	b.processes[id] = Process{ServiceName: s.Service, Tags: appendTags(make([]KeyValue, 0, len(tags)), tags)}
	return id
}

func stringTag(k, v string) KeyValue {
	b, _ := json.Marshal(v)
	return KeyValue{Key: k, Type: StringType, Value: b}
}

// appendTags converts attributes to Jaeger tags. Jaeger has no array or
// map type: those become their JSON text, as Jaeger's translator does.
func appendTags(dst []KeyValue, attrs []api.Attribute) []KeyValue {
	for _, a := range attrs {
		kv := KeyValue{Key: a.Key, Value: a.Value}
		switch a.Type {
		case api.TypeBool:
			kv.Type = BoolType
		case api.TypeInt:
			kv.Type = Int64Type
		case api.TypeDouble:
			kv.Type = Float64Type
		case api.TypeBytes:
			kv.Type = BinaryType
		case api.TypeArray, api.TypeMap:
			kv.Type = StringType
			kv.Value, _ = json.Marshal(string(a.Value))
		default:
			kv.Type = StringType
		}
		// A value stored with a type it does not parse as comes as a JSON
		// string; it must then be typed string to stay valid for Jaeger.
		if len(kv.Value) > 0 && kv.Value[0] == '"' && kv.Type != BinaryType {
			kv.Type = StringType
		}
		dst = append(dst, kv)
	}
	return dst
}
