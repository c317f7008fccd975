// Package selftrace traces Coldtrace's own work (REST API requests and the
// ClickHouse queries behind them, OTLP receive requests) with the OTel Go
// SDK into an OTLP/HTTP endpoint, usually this process's own collector, so
// Coldtrace can be debugged with Coldtrace.
//
// Tracing the collector while it stores those traces would trace itself
// forever: every export of self-spans would be a receive request making a
// new span to export. The exporter therefore marks its requests with
// Header, and the receivers leave marked requests untraced.
package selftrace

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/coldtrace/coldtrace/internal/spanexport"
)

// ServiceName is the service.name of Coldtrace's own spans.
const ServiceName = "coldtrace"

// Header marks the exporter's own requests (value "1").
const Header = "X-Coldtrace-Self-Trace"

// IsSelf reports whether r carries self-traces (see Header).
func IsSelf(r *http.Request) bool { return r.Header.Get(Header) != "" }

// Config is the self-tracing configuration.
type Config struct {
	// Enabled turns self-tracing on.
	Enabled bool
	// Endpoint is the OTLP/HTTP base URL spans go to, e.g.
	// http://127.0.0.1:4318 (/v1/traces is appended).
	Endpoint string
	// SampleRatio is the share of traces started here that are recorded;
	// a request that arrives with a sampled traceparent is always
	// recorded.
	SampleRatio float64
	// Headers are sent with every export (Authorization).
	Headers map[string]string
	// TLS configures an https Endpoint (nil: the system roots).
	TLS *tls.Config
	// Role and Version describe this process (coldtrace.role,
	// service.version).
	Role, Version string
}

// Validate reports an unusable configuration; a disabled one is valid.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.SampleRatio <= 0 || c.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("self-tracing: sample ratio %v must be in (0, 1]", c.SampleRatio))
	}
	u, err := url.Parse(c.Endpoint)
	switch {
	case c.Endpoint == "":
		errs = append(errs, errors.New("self-tracing: an OTLP/HTTP endpoint is needed (--self-tracing-endpoint)"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("self-tracing: endpoint %q is not an http:// or https:// URL", c.Endpoint))
	}
	return errors.Join(errs...)
}

// Tracing is a running self-tracing pipeline, or a disabled one whose
// provider makes no spans.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// Start starts exporting (nothing when cfg is disabled).
func Start(ctx context.Context, cfg Config) (*Tracing, error) {
	if !cfg.Enabled {
		return &Tracing{}, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	headers := map[string]string{Header: "1"}
	for k, v := range cfg.Headers {
		headers[k] = v
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/") + "/v1/traces"),
		otlptracehttp.WithHeaders(headers),
	}
	if cfg.TLS != nil {
		opts = append(opts, otlptracehttp.WithTLSClientConfig(cfg.TLS))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("self-tracing: exporter: %w", err)
	}
	host, _ := os.Hostname()
	res := resource.NewSchemaless(
		semconv.ServiceName(ServiceName),
		semconv.ServiceVersion(cfg.Version),
		semconv.ServiceInstanceID(fmt.Sprintf("%s/%d", host, os.Getpid())),
		semconv.HostName(host),
		attribute.String("coldtrace.role", cfg.Role),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		// A request path's %ff would otherwise lose the whole batch.
		sdktrace.WithBatcher(spanexport.ValidUTF8(exp), sdktrace.WithBatchTimeout(2*time.Second)),
	)
	return &Tracing{tp: tp}, nil
}

// TracerProvider is where Coldtrace's components get their tracers; it
// makes no spans when self-tracing is off.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil || t.tp == nil {
		return noop.NewTracerProvider()
	}
	return t.tp
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil && t.tp != nil }

// Shutdown exports the spans still buffered and stops.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("self-tracing: %w", err)
	}
	return nil
}
