package telemetry

import (
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the span contract that are Coldtrace's own.
const (
	AttrInitDurationMs   = "coldtrace.init_duration_ms"
	AttrBilledDurationMs = "coldtrace.billed_duration_ms"
	AttrMaxMemoryUsed    = "coldtrace.max_memory_used_bytes"
	AttrTimeoutMs        = "coldtrace.timeout_ms"
	// AttrCutOff marks a function span the host ended because the
	// function stopped (timeout, crash, OOM) or moved on without ending it.
	AttrCutOff = "coldtrace.cut_off"
	// AttrPrewarmed marks the init span of an instance started ahead of
	// demand (min instances).
	AttrPrewarmed = "coldtrace.prewarmed"
)

// Error types of the span contract (error.type).
const (
	ErrTimeout     = "timeout"
	ErrOutOfMemory = "out_of_memory"
	ErrCrash       = "crash"
	ErrHandler     = "handler_error"
	ErrInit        = "init_error"
	ErrThrottled   = "throttled"
)

// Triggers (faas.trigger).
const (
	TriggerHTTP   = "http"
	TriggerPubSub = "pubsub"
	TriggerTimer  = "timer"
	TriggerOther  = "other"
)

// InitSpanName names the child span covering a cold start's init.
const InitSpanName = "init"

// Invocation is what is known when an invocation span starts.
type Invocation struct {
	// Recorder is the instance's, or the function's when no instance ran
	// (throttled).
	Recorder *Recorder
	// Parent is the caller's span context, if any.
	Parent    trace.SpanContext
	Function  string
	Kind      trace.SpanKind
	RequestID string
	Trigger   string
	// Start is when the request arrived, before any wait for an instance.
	Start      time.Time
	Timeout    time.Duration
	Attributes []attribute.KeyValue
}

// InvocationSpan is the span of an invocation under way. It is not an SDK
// span: it holds what the span needs until the invocation ends, and
// becomes one (a ReadOnlySpan for the SDK's batch processor) only then.
// An SDK span would lock, de-duplicate attributes and snapshot itself on
// every invocation, for a span whose content is all known at its end
// (docs/benchmarks.md).
type InvocationSpan struct {
	inv       Invocation
	sc        trace.SpanContext
	recording bool
}

// StartInvocation starts the invocation span; its span context is what
// the function is handed as parent. As with the SDK's parent-based
// sampler, a caller that did not sample its trace gets no span; with
// tracing off, the caller's context passes through to the function.
func StartInvocation(inv Invocation) *InvocationSpan {
	s := &InvocationSpan{inv: inv, sc: inv.Parent}
	if !inv.Recorder.enabled() {
		return s
	}
	s.recording = !inv.Parent.IsValid() || inv.Parent.IsSampled()
	s.sc = childOf(inv.Parent)
	return s
}

// SpanContext is the span's ids, the function's parent.
func (s *InvocationSpan) SpanContext() trace.SpanContext { return s.sc }

// Recording reports whether the span will be exported.
func (s *InvocationSpan) Recording() bool { return s.recording }

// LogLine is one line a function wrote.
type LogLine struct {
	Time   time.Time
	Stream string // stdout or stderr
	Text   string
}

// Outcome is how an invocation ended.
type Outcome struct {
	// Cold is true on the first invocation of an instance started for it;
	// InitStart/InitEnd then span the spawn up to the first /next.
	Cold               bool
	InitStart, InitEnd time.Time
	// Ran is false when no instance handled the event (throttled).
	Ran bool
	// Duration is the handler's time: event delivered to answer posted.
	Duration  time.Duration
	MaxMemory uint64
	// ErrorType is one of the Err* types, empty on success.
	ErrorType    string
	ErrorMessage string
	Logs         []LogLine
	LogsDropped  int
	End          time.Time
	Attributes   []attribute.KeyValue
}

// BilledDuration is the duration, plus init on a cold start, rounded up
// to the millisecond.
func (o Outcome) BilledDuration() time.Duration {
	d := o.Duration
	if o.Cold {
		d += o.InitEnd.Sub(o.InitStart)
	}
	return time.Duration(math.Ceil(float64(d)/float64(time.Millisecond))) * time.Millisecond
}

// InitDuration is spawn to first /next on a cold start.
func (o Outcome) InitDuration() time.Duration {
	if !o.Cold {
		return 0
	}
	return o.InitEnd.Sub(o.InitStart)
}

// Finish records inv's attributes and o and ends the span, with the init
// child span on cold starts.
func (s *InvocationSpan) Finish(o Outcome) {
	if !s.recording {
		return
	}
	inv := s.inv
	attrs := make([]attribute.KeyValue, 0, 10+len(inv.Attributes)+len(o.Attributes))
	attrs = append(attrs,
		semconv.FaaSInvocationID(inv.RequestID),
		semconv.FaaSTriggerKey.String(inv.Trigger),
		attribute.Int64(AttrTimeoutMs, inv.Timeout.Milliseconds()),
		semconv.FaaSColdstart(o.Cold))
	attrs = append(attrs, inv.Attributes...)
	attrs = append(attrs, o.Attributes...)
	if o.Cold {
		attrs = append(attrs, attribute.Float64(AttrInitDurationMs, float64(o.InitDuration())/float64(time.Millisecond)))
		inv.Recorder.RecordInit(s.sc, o.InitStart, o.InitEnd, o.ErrorType == ErrInit, o.ErrorMessage, false)
	}
	if o.Ran {
		attrs = append(attrs,
			attribute.Int64(AttrBilledDurationMs, o.BilledDuration().Milliseconds()),
			attribute.Int64(AttrMaxMemoryUsed, int64(o.MaxMemory)))
	}
	span := tracetest.SpanStub{
		Name: inv.Function, SpanContext: s.sc, Parent: inv.Parent, SpanKind: inv.Kind,
		StartTime: inv.Start, EndTime: o.End,
	}
	if o.ErrorType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(o.ErrorType))
		span.Status = sdktrace.Status{Code: codes.Error, Description: o.ErrorMessage}
	}
	if o.LogsDropped > 0 {
		attrs = append(attrs, attribute.Int("coldtrace.logs_dropped", o.LogsDropped))
	}
	span.Attributes = attrs
	if len(o.Logs) > 0 {
		span.Events = make([]sdktrace.Event, len(o.Logs))
		for i, l := range o.Logs {
			span.Events[i] = sdktrace.Event{Name: "log", Time: l.Time, Attributes: []attribute.KeyValue{
				attribute.String("log.iostream", l.Stream), attribute.String("message", l.Text)}}
		}
	}
	inv.Recorder.end(&span)
}

// RecordInit records an init span: a child of the invocation span parent
// on a cold start, or a root span of its own for a pre-warmed instance.
func (r *Recorder) RecordInit(parent trace.SpanContext, start, end time.Time, failed bool, msg string, prewarmed bool) {
	if !r.enabled() || (parent.IsValid() && !parent.IsSampled()) {
		return
	}
	span := tracetest.SpanStub{Name: InitSpanName, SpanKind: trace.SpanKindInternal, StartTime: start, EndTime: end}
	if prewarmed {
		parent = trace.SpanContext{}
		span.Attributes = []attribute.KeyValue{attribute.Bool(AttrPrewarmed, true),
			attribute.Float64(AttrInitDurationMs, float64(end.Sub(start))/float64(time.Millisecond))}
	}
	span.Parent, span.SpanContext = parent, childOf(parent)
	if failed {
		span.Status = sdktrace.Status{Code: codes.Error, Description: msg}
		span.Attributes = append(span.Attributes, semconv.ErrorTypeKey.String(ErrInit))
	}
	r.end(&span)
}
