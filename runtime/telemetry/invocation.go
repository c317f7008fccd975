package telemetry

import (
	"context"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
	// Tracer is the instance's, or the function's when no instance ran
	// (throttled).
	Tracer trace.Tracer
	// Parent carries the caller's span context, if any.
	Parent    context.Context
	Function  string
	Kind      trace.SpanKind
	RequestID string
	Trigger   string
	// Start is when the request arrived, before any wait for an instance.
	Start      time.Time
	Timeout    time.Duration
	Attributes []attribute.KeyValue
}

// StartInvocation starts the invocation span; its context is what the
// function is handed as parent. The attributes are set when it finishes,
// all at once: this runs on every invocation.
func StartInvocation(inv Invocation) (context.Context, trace.Span) {
	parent := inv.Parent
	if parent == nil {
		parent = context.Background()
	}
	return inv.Tracer.Start(parent, inv.Function, trace.WithTimestamp(inv.Start), trace.WithSpanKind(inv.Kind))
}

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

// FinishInvocation records inv's attributes and o on span (started by
// StartInvocation) and ends it, with the init child span on cold starts.
func FinishInvocation(ctx context.Context, inv Invocation, span trace.Span, o Outcome) {
	if !span.IsRecording() {
		span.End(trace.WithTimestamp(o.End))
		return
	}
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
		RecordInit(ctx, inv.Tracer, o.InitStart, o.InitEnd, o.ErrorType == ErrInit, o.ErrorMessage, false)
	}
	if o.Ran {
		attrs = append(attrs,
			attribute.Int64(AttrBilledDurationMs, o.BilledDuration().Milliseconds()),
			attribute.Int64(AttrMaxMemoryUsed, int64(o.MaxMemory)))
	}
	if o.ErrorType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(o.ErrorType))
		span.SetStatus(codes.Error, o.ErrorMessage)
	}
	if o.LogsDropped > 0 {
		attrs = append(attrs, attribute.Int("coldtrace.logs_dropped", o.LogsDropped))
	}
	span.SetAttributes(attrs...)
	for _, l := range o.Logs {
		span.AddEvent("log", trace.WithTimestamp(l.Time), trace.WithAttributes(
			attribute.String("log.iostream", l.Stream), attribute.String("message", l.Text)))
	}
	span.End(trace.WithTimestamp(o.End))
}

// RecordInit records an init span: a child of ctx's span on a cold
// start, or a root span of its own for a pre-warmed instance.
func RecordInit(ctx context.Context, tracer trace.Tracer, start, end time.Time, failed bool, msg string, prewarmed bool) {
	opts := []trace.SpanStartOption{trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindInternal)}
	if prewarmed {
		opts = append(opts, trace.WithNewRoot(), trace.WithAttributes(attribute.Bool(AttrPrewarmed, true),
			attribute.Float64(AttrInitDurationMs, float64(end.Sub(start))/float64(time.Millisecond))))
	}
	_, span := tracer.Start(ctx, InitSpanName, opts...)
	if failed {
		span.SetStatus(codes.Error, msg)
		span.SetAttributes(semconv.ErrorTypeKey.String(ErrInit))
	}
	span.End(trace.WithTimestamp(end))
}
