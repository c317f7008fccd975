package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The span pipe protocol: the bootstraps write one JSON object per line
// to the file descriptor named by COLDTRACE_SPAN_FD, a "start" record when
// a span starts and an "end" record, complete in itself, when it ends.
// Times are Unix nanoseconds as decimal strings (JavaScript numbers cannot
// hold them); ids are lowercase hex.
type spanRecord struct {
	Ev     string         `json:"ev"`
	RID    string         `json:"rid"`
	Trace  string         `json:"trace"`
	Span   string         `json:"span"`
	Parent string         `json:"parent"`
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	Start  string         `json:"start"`
	End    string         `json:"end"`
	Attrs  map[string]any `json:"attrs"`
	Status struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	Events []struct {
		Name  string         `json:"name"`
		Time  string         `json:"time"`
		Attrs map[string]any `json:"attrs"`
	} `json:"events"`
	Links []struct {
		Trace string         `json:"trace"`
		Span  string         `json:"span"`
		Attrs map[string]any `json:"attrs"`
	} `json:"links"`
	Scope struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"scope"`
}

// maxOpenSpans bounds the started spans one instance may keep open, so a
// function that never ends its spans cannot grow the host without limit.
const maxOpenSpans = 10000

// FunctionSpans turns one instance's span pipe into exported spans, and
// ends the spans a function left open.
type FunctionSpans struct {
	res  *resource.Resource
	proc sdktrace.SpanProcessor
	log  *slog.Logger

	mu      sync.Mutex
	open    map[string]*spanRecord // by span id
	badSeen bool
}

// FunctionSpans returns the span sink of one instance; nil when tracing
// is off.
func (t *Telemetry) FunctionSpans(r Resource) *FunctionSpans {
	if t.proc == nil {
		return nil
	}
	return &FunctionSpans{res: r.otel(), proc: t.proc, log: t.log, open: map[string]*spanRecord{}}
}

// HandleLine takes one line of the span pipe.
func (f *FunctionSpans) HandleLine(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	var rec spanRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil || len(rec.Span) != 16 || len(rec.Trace) != 32 {
		f.mu.Lock()
		first := !f.badSeen
		f.badSeen = true
		f.mu.Unlock()
		if first {
			f.log.Warn("function span pipe: skipping malformed records", "resource", f.res, "err", err, "line", truncate(string(line), 200))
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch rec.Ev {
	case "start":
		if len(f.open) < maxOpenSpans {
			f.open[rec.Span] = &rec
		}
	case "end":
		delete(f.open, rec.Span)
		f.export(&rec, false, "")
	}
}

// CutOff ends the spans still open, those of invocation rid or, with rid
// "", all of them, at the given time, marked as cut off for reason.
func (f *FunctionSpans) CutOff(rid, reason string, at time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	end := strconv.FormatInt(at.UnixNano(), 10)
	for id, rec := range f.open {
		if rid != "" && rec.RID != rid {
			continue
		}
		delete(f.open, id)
		rec.End = end
		f.export(rec, true, reason)
	}
}

func (f *FunctionSpans) export(rec *spanRecord, cutOff bool, reason string) {
	tid, err1 := trace.TraceIDFromHex(rec.Trace)
	sid, err2 := trace.SpanIDFromHex(rec.Span)
	if err1 != nil || err2 != nil {
		return
	}
	stub := tracetest.SpanStub{
		Name:        rec.Name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		SpanKind:    spanKind(rec.Kind),
		StartTime:   nanosTime(rec.Start),
		EndTime:     nanosTime(rec.End),
		Attributes:  attributes(rec.Attrs),
		Resource:    f.res,
		InstrumentationScope: instrumentation.Scope{
			Name: rec.Scope.Name, Version: rec.Scope.Version,
		},
	}
	if pid, err := trace.SpanIDFromHex(rec.Parent); err == nil {
		stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled, Remote: true})
	}
	switch rec.Status.Code {
	case "error":
		stub.Status = sdktrace.Status{Code: codes.Error, Description: rec.Status.Message}
	case "ok":
		stub.Status = sdktrace.Status{Code: codes.Ok}
	}
	for _, e := range rec.Events {
		stub.Events = append(stub.Events, sdktrace.Event{Name: e.Name, Time: nanosTime(e.Time), Attributes: attributes(e.Attrs)})
	}
	for _, l := range rec.Links {
		lt, err1 := trace.TraceIDFromHex(l.Trace)
		ls, err2 := trace.SpanIDFromHex(l.Span)
		if err1 == nil && err2 == nil {
			stub.Links = append(stub.Links, sdktrace.Link{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: lt, SpanID: ls}),
				Attributes:  attributes(l.Attrs),
			})
		}
	}
	if cutOff {
		stub.Attributes = append(stub.Attributes, attribute.Bool(AttrCutOff, true))
		stub.Status = sdktrace.Status{Code: codes.Error, Description: "cut off: " + reason}
	}
	// SpanStub is the SDK's way to build a ReadOnlySpan from recorded
	// data; the span then takes the same batch processor and exporter as
	// the host's own spans.
	f.proc.OnEnd(stub.Snapshot())
}

func spanKind(k string) trace.SpanKind {
	switch k {
	case "server":
		return trace.SpanKindServer
	case "client":
		return trace.SpanKindClient
	case "producer":
		return trace.SpanKindProducer
	case "consumer":
		return trace.SpanKindConsumer
	}
	return trace.SpanKindInternal
}

func nanosTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// attributes converts decoded JSON values: whole numbers become ints,
// others doubles; homogeneous arrays keep their type.
func attributes(m map[string]any) []attribute.KeyValue {
	if len(m) == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, len(m))
	for k, v := range m {
		if kv, ok := attributeOf(k, v); ok {
			out = append(out, kv)
		}
	}
	return out
}

func attributeOf(k string, v any) (attribute.KeyValue, bool) {
	switch x := v.(type) {
	case nil:
		return attribute.KeyValue{}, false
	case string:
		return attribute.String(k, x), true
	case bool:
		return attribute.Bool(k, x), true
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return attribute.Int64(k, i), true
		}
		f, _ := x.Float64()
		return attribute.Float64(k, f), true
	case []any:
		return sliceAttribute(k, x), true
	default:
		b, _ := json.Marshal(x)
		return attribute.String(k, string(b)), true
	}
}

func sliceAttribute(k string, xs []any) attribute.KeyValue {
	var strs []string
	var bools []bool
	var ints []int64
	var floats []float64
	for _, x := range xs {
		switch v := x.(type) {
		case string:
			strs = append(strs, v)
		case bool:
			bools = append(bools, v)
		case json.Number:
			f, _ := v.Float64()
			floats = append(floats, f)
			if i, err := v.Int64(); err == nil && !strings.ContainsAny(v.String(), ".eE") {
				ints = append(ints, i)
			}
		}
	}
	switch {
	case len(strs) == len(xs):
		return attribute.StringSlice(k, strs)
	case len(bools) == len(xs):
		return attribute.BoolSlice(k, bools)
	case len(ints) == len(xs):
		return attribute.Int64Slice(k, ints)
	case len(floats) == len(xs):
		return attribute.Float64Slice(k, floats)
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return attribute.StringSlice(k, out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
