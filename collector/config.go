// Package collector receives OTLP traces over gRPC and HTTP and hands them,
// as ptrace.Traces, to a consumer.Traces. It knows nothing of storage.
package collector

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures the receivers.
type Config struct {
	// GRPCAddr is the OTLP/gRPC listen address ("" disables it).
	GRPCAddr string `yaml:"grpc_addr"`
	// HTTPAddr is the OTLP/HTTP listen address ("" disables it).
	HTTPAddr string `yaml:"http_addr"`
	// MaxRequestBytes bounds a request, compressed and decompressed.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// MaxSpansPerRequest rejects larger requests (0 = no limit).
	MaxSpansPerRequest int `yaml:"max_spans_per_request"`
	// MaxInflightBytes bounds the request bytes (decompressed) being
	// decoded and handed on at once, over both protocols: a decoded
	// request takes several times its size, and nothing else bounds how
	// many arrive together. Past it a request waits, then is told to retry.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// ReadTimeout bounds how long an OTLP/HTTP request, headers and body,
	// may take to arrive: a body that stalls would otherwise hold its
	// share of MaxInflightBytes, its connection and its goroutine for as
	// long as the sender keeps the connection open.
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// DefaultReadTimeout is the OTLP/HTTP read timeout. OpenTelemetry
// exporters give up on a request after 10 s (the SDKs) to 30 s (the
// Collector's otlphttp exporter) by default, so a body still arriving
// after 30 s has been abandoned by its sender; 30 s still lets a
// MaxRequestBytes (20 MiB) request through at 700 KB/s.
const DefaultReadTimeout = 30 * time.Second

// DefaultConfig returns OTLP's default ports.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:         "127.0.0.1:4317",
		HTTPAddr:         "127.0.0.1:4318",
		MaxRequestBytes:  20 << 20,
		MaxInflightBytes: 256 << 20,
		ReadTimeout:      DefaultReadTimeout,
	}
}

// Validate reports invalid settings.
func (c Config) Validate() error {
	var errs []error
	if c.GRPCAddr == "" && c.HTTPAddr == "" {
		errs = append(errs, errors.New("collector: neither an OTLP gRPC nor an HTTP address is set"))
	}
	for _, a := range []string{c.GRPCAddr, c.HTTPAddr} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("collector: address %q: %w", a, err))
		}
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("collector: max_request_bytes must be positive"))
	}
	if c.MaxInflightBytes < c.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("collector: max_inflight_bytes (%d) must be at least max_request_bytes (%d)", c.MaxInflightBytes, c.MaxRequestBytes))
	}
	if c.HTTPAddr != "" && c.ReadTimeout <= 0 {
		errs = append(errs, errors.New("collector: read_timeout must be positive: without it a request body that stalls holds its connection and its share of max_inflight_bytes forever"))
	}
	if c.MaxSpansPerRequest < 0 {
		errs = append(errs, errors.New("collector: max_spans_per_request must not be negative"))
	}
	return errors.Join(errs...)
}
