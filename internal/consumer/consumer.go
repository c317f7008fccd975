// Package consumer is the contract between a receiver and what stores its
// data: a receiver hands ptrace.Traces to a Traces consumer, and the error
// it gets back says whether the sender should retry.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Traces consumes trace data. ConsumeTraces returns nil only once every
// span it accepted is stored durably; the caller may then acknowledge the
// request. It must not keep td after returning.
type Traces interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) error
}

// TracesFunc adapts a function to Traces.
type TracesFunc func(ctx context.Context, td ptrace.Traces) error

// ConsumeTraces calls f.
func (f TracesFunc) ConsumeTraces(ctx context.Context, td ptrace.Traces) error { return f(ctx, td) }

// Kind classifies a consume error for the sender.
type Kind int

const (
	// KindUnavailable: storage is failing; retry later (gRPC UNAVAILABLE,
	// HTTP 503).
	KindUnavailable Kind = iota
	// KindThrottled: the pipeline is full; retry after a pause (gRPC
	// RESOURCE_EXHAUSTED with RetryInfo, HTTP 429).
	KindThrottled
	// KindPermanent: the data is invalid; do not retry (gRPC
	// INVALID_ARGUMENT, HTTP 400).
	KindPermanent
	// KindUnauthenticated: missing or wrong credentials (gRPC
	// UNAUTHENTICATED, HTTP 401).
	KindUnauthenticated
)

// Error is a classified consume error.
type Error struct {
	Kind Kind
	// RetryAfter is the suggested pause for retryable kinds (0 = sender's
	// choice).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Throttled wraps err as backpressure.
func Throttled(err error, retryAfter time.Duration) error {
	return &Error{Kind: KindThrottled, RetryAfter: retryAfter, Err: err}
}

// Unavailable wraps err as a transient storage failure.
func Unavailable(err error, retryAfter time.Duration) error {
	return &Error{Kind: KindUnavailable, RetryAfter: retryAfter, Err: err}
}

// Permanent wraps err as a rejection of the data itself.
func Permanent(err error) error { return &Error{Kind: KindPermanent, Err: err} }

// Unauthenticated wraps err as an authentication failure.
func Unauthenticated(err error) error { return &Error{Kind: KindUnauthenticated, Err: err} }

// Classify returns the classification of err; unclassified errors count as
// KindUnavailable, so senders retry rather than lose data.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindUnavailable, Err: err}
}

// PartialError reports that some spans were rejected while the rest were
// stored: OTLP's partial success.
type PartialError struct {
	Rejected int64
	Message  string
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d spans rejected: %s", e.Rejected, e.Message)
}

// Partial returns a PartialError.
func Partial(rejected int64, msg string) error {
	return &PartialError{Rejected: rejected, Message: msg}
}
