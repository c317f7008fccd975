// Package telemetry produces the runtime's spans, exactly as DESIGN.md's
// span contract says, with the OpenTelemetry Go SDK: one invocation span
// per invocation with an init child on cold starts, and the spans the
// function's own code recorded (read from the instance's span pipe). All
// of them leave through one batch processor and one OTLP/HTTP exporter.
package telemetry

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/coldtrace/coldtrace/internal/spanexport"
)

// ScopeName is the instrumentation scope of the runtime's own spans.
const ScopeName = "github.com/coldtrace/coldtrace/runtime"

// Config configures span export.
type Config struct {
	// Endpoint is the OTLP/HTTP base URL (spans go to Endpoint/v1/traces);
	// empty turns tracing off.
	Endpoint string
	// BatchTimeout is the longest a finished span waits before export.
	BatchTimeout time.Duration
	// QueueSize bounds spans waiting for export; beyond it new spans are
	// dropped rather than slowing invocations down.
	QueueSize int
	// Headers go with every export (e.g. Authorization).
	Headers map[string]string
	// TLS configures an https endpoint; nil uses the system's roots.
	TLS *tls.Config
}

// DefaultConfig exports five times a second (small batches keep few spans
// in memory) with room for bursts.
func DefaultConfig() Config {
	return Config{BatchTimeout: 200 * time.Millisecond, QueueSize: 65536}
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("OTLP endpoint %q: want an http(s) base URL such as http://127.0.0.1:4318", c.Endpoint)
		}
	}
	if c.BatchTimeout <= 0 || c.QueueSize <= 0 {
		return fmt.Errorf("span batch timeout and queue size must be positive")
	}
	return nil
}

// Telemetry is the runtime's span pipeline.
type Telemetry struct {
	proc       sdktrace.SpanProcessor // nil when tracing is off
	propagator propagation.TextMapPropagator
	log        *slog.Logger
}

// New starts the exporter; with an empty endpoint spans are not recorded
// but trace context still flows from callers to functions.
func New(cfg Config, log *slog.Logger) (*Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	t := &Telemetry{
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, xrayPropagator{}),
		log:        log,
	}
	if cfg.Endpoint == "" {
		return t, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/") + "/v1/traces")}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	if cfg.TLS != nil {
		opts = append(opts, otlptracehttp.WithTLSClientConfig(cfg.TLS))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	t.proc = sdktrace.NewBatchSpanProcessor(spanexport.ValidUTF8(exp),
		sdktrace.WithBatchTimeout(cfg.BatchTimeout),
		sdktrace.WithMaxQueueSize(cfg.QueueSize),
		sdktrace.WithMaxExportBatchSize(min(cfg.QueueSize, 4096)))
	return t, nil
}

// Enabled reports whether spans are exported.
func (t *Telemetry) Enabled() bool { return t.proc != nil }

// Flush exports every finished span.
func (t *Telemetry) Flush(ctx context.Context) error {
	if t.proc == nil {
		return nil
	}
	return t.proc.ForceFlush(ctx)
}

// Shutdown exports what is left and stops the exporter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.proc == nil {
		return nil
	}
	return t.proc.Shutdown(ctx)
}

// Extract reads the caller's trace context from W3C traceparent or X-Ray
// (X-Amzn-Trace-Id) headers.
func (t *Telemetry) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return t.propagator.Extract(ctx, carrier)
}

// Resource describes the function, or one instance of it when Instance
// is set.
type Resource struct {
	Function    string
	Version     string
	Instance    string
	MemoryBytes int64
}

func (r Resource) otel() *resource.Resource {
	attrs := []attribute.KeyValue{
		semconv.ServiceName(r.Function),
		semconv.FaaSName(r.Function),
		semconv.FaaSVersion(r.Version),
		semconv.FaaSMaxMemory(int(r.MemoryBytes)),
		semconv.CloudProviderKey.String("coldtrace"),
		semconv.TelemetrySDKName("opentelemetry"),
		semconv.TelemetrySDKLanguageGo,
	}
	if r.Instance != "" {
		attrs = append(attrs, semconv.FaaSInstance(r.Instance))
	}
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...)
}

// Tracer returns a tracer whose spans carry r. Tracers share the one
// batch processor.
func (t *Telemetry) Tracer(r Resource) trace.Tracer {
	if t.proc == nil {
		return noop.NewTracerProvider().Tracer(ScopeName)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(r.otel()),
		sdktrace.WithSpanProcessor(sharedProcessor{t.proc}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return tp.Tracer(ScopeName)
}

// sharedProcessor lends the batch processor to one of many tracer
// providers; only Telemetry.Shutdown stops it.
type sharedProcessor struct{ sdktrace.SpanProcessor }

func (sharedProcessor) Shutdown(context.Context) error { return nil }
