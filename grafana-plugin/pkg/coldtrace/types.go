package coldtrace

import (
	"encoding/json"
	"time"
)

// The types below mirror the subset of Coldtrace's /api/v1 contract
// (query/api in the main module, served at /api/v1/openapi.json) that the
// plugin reads. They are copied rather than imported so the plugin stays a
// pure REST client of Coldtrace and can be built and shipped on its own;
// contract_test.go keeps them in step with the OpenAPI document.

// Status is the body of GET /api/v1/status.
type Status struct {
	Status     string           `json:"status"`
	Version    string           `json:"version"`
	ClickHouse ClickHouseStatus `json:"clickhouse"`
	SpanCount  uint64           `json:"spanCount"`
	Tenant     string           `json:"tenant"`
}

// ClickHouseStatus tells whether Coldtrace's storage is reachable.
type ClickHouseStatus struct {
	Reachable bool   `json:"reachable"`
	Embedded  bool   `json:"embedded"`
	Database  string `json:"database"`
	Version   string `json:"version,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Attribute is one key/value of a span, resource, event or link; Value is
// the JSON value of type Type.
type Attribute struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Span status codes.
const (
	StatusUnset = "unset"
	StatusOK    = "ok"
	StatusError = "error"
)

// Trace is the body of GET /api/v1/traces/{traceId}.
type Trace struct {
	TraceID string       `json:"traceId"`
	Summary TraceSummary `json:"summary"`
	Spans   []Span       `json:"spans"`
	// Warnings say the trace is incomplete or holds a span twice.
	Warnings []string `json:"warnings,omitempty"`
}

// Span is one span with everything stored about it.
type Span struct {
	TraceID           string      `json:"traceId"`
	SpanID            string      `json:"spanId"`
	ParentSpanID      string      `json:"parentSpanId"`
	TraceState        string      `json:"traceState,omitempty"`
	Name              string      `json:"name"`
	Kind              string      `json:"kind"`
	Service           string      `json:"service"`
	StartTimeUnixNano int64       `json:"startTimeUnixNano,string"`
	DurationNano      uint64      `json:"durationNano"`
	Status            SpanStatus  `json:"status"`
	Attributes        []Attribute `json:"attributes"`
	Resource          Resource    `json:"resource"`
	Scope             Scope       `json:"scope"`
	Events            []Event     `json:"events"`
	Links             []Link      `json:"links"`
	Faas              *Invocation `json:"faas,omitempty"`
}

// SpanStatus is a span's status.
type SpanStatus struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Resource is the entity that produced a span.
type Resource struct {
	Attributes []Attribute `json:"attributes"`
}

// Scope is the instrumentation scope that produced a span.
type Scope struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Event is a timed annotation of a span.
type Event struct {
	Name         string      `json:"name"`
	TimeUnixNano int64       `json:"timeUnixNano,string"`
	Attributes   []Attribute `json:"attributes"`
}

// Link points from a span to another span.
type Link struct {
	TraceID    string      `json:"traceId"`
	SpanID     string      `json:"spanId"`
	TraceState string      `json:"traceState,omitempty"`
	Attributes []Attribute `json:"attributes"`
}

// Invocation is what Coldtrace knows about a function invocation span.
type Invocation struct {
	Function           string  `json:"function"`
	Version            string  `json:"version"`
	Instance           string  `json:"instance"`
	Trigger            string  `json:"trigger"`
	ColdStart          bool    `json:"coldStart"`
	ErrorType          string  `json:"errorType,omitempty"`
	InitDurationNano   uint64  `json:"initDurationNano,omitempty"`
	BilledDurationNano uint64  `json:"billedDurationNano"`
	MaxMemoryUsedBytes uint64  `json:"maxMemoryUsedBytes"`
	MemoryLimitBytes   uint64  `json:"memoryLimitBytes"`
	TimeoutNano        uint64  `json:"timeoutNano"`
	CostUSD            float64 `json:"costUsd"`
}

// TraceSummary describes a trace without its spans.
type TraceSummary struct {
	TraceID           string   `json:"traceId"`
	RootService       string   `json:"rootService"`
	RootOperation     string   `json:"rootOperation"`
	StartTimeUnixNano int64    `json:"startTimeUnixNano,string"`
	DurationNano      uint64   `json:"durationNano"`
	SpanCount         uint64   `json:"spanCount"`
	ErrorCount        uint64   `json:"errorCount"`
	ColdStart         bool     `json:"coldStart"`
	ErrorTypes        []string `json:"errorTypes"`
	Services          []string `json:"services"`
	CostUSD           float64  `json:"costUsd"`
}

// StartTime is the summary's start as a time.
func (s TraceSummary) StartTime() time.Time { return time.Unix(0, s.StartTimeUnixNano).UTC() }

// TraceSearch is the body of GET /api/v1/traces.
type TraceSearch struct {
	Traces     []TraceSummary `json:"traces"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// Services is the body of GET /api/v1/services.
type Services struct {
	Services []Service `json:"services"`
}

// Service is one service.name seen in a window.
type Service struct {
	Name       string `json:"name"`
	SpanCount  uint64 `json:"spanCount"`
	ErrorCount uint64 `json:"errorCount"`
	Function   bool   `json:"function"`
}

// Operations is the body of GET /api/v1/services/{service}/operations.
type Operations struct {
	Service    string      `json:"service"`
	Operations []Operation `json:"operations"`
}

// Operation is one span name of a service, per span kind.
type Operation struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	SpanCount uint64 `json:"spanCount"`
}

// Functions is the body of GET /api/v1/functions.
type Functions struct {
	Functions []FunctionSummary `json:"functions"`
}

// FunctionSummary is one function version's invocations over a window.
type FunctionSummary struct {
	Name               string     `json:"name"`
	Version            string     `json:"version"`
	Invocations        uint64     `json:"invocations"`
	ColdStarts         uint64     `json:"coldStarts"`
	ColdStartRate      float64    `json:"coldStartRate"`
	InitDuration       *Quantiles `json:"initDuration"`
	Duration           *Quantiles `json:"duration"`
	AvgDurationNano    float64    `json:"avgDurationNano"`
	Timeouts           uint64     `json:"timeouts"`
	Errors             uint64     `json:"errors"`
	Throttles          uint64     `json:"throttles"`
	BilledDurationNano uint64     `json:"billedDurationNano"`
	BilledGBSeconds    float64    `json:"billedGbSeconds"`
	Cost               Cost       `json:"cost"`
	MaxMemoryUsedBytes uint64     `json:"maxMemoryUsedBytes"`
	MemoryLimitBytes   uint64     `json:"memoryLimitBytes"`
}

// Quantiles of a duration, in nanoseconds.
type Quantiles struct {
	P50Nano float64 `json:"p50Nano"`
	P95Nano float64 `json:"p95Nano"`
	P99Nano float64 `json:"p99Nano"`
}

// Cost is an estimate in USD.
type Cost struct {
	ComputeUSD  float64 `json:"computeUsd"`
	RequestsUSD float64 `json:"requestsUsd"`
	TotalUSD    float64 `json:"totalUsd"`
}

// Timeseries is the body of GET /api/v1/functions/{name}/timeseries.
type Timeseries struct {
	Function    string  `json:"function"`
	Metric      string  `json:"metric"`
	Unit        string  `json:"unit"`
	StepSeconds int64   `json:"stepSeconds"`
	Points      []Point `json:"points"`
}

// Units of time series.
const (
	UnitCount       = "count"
	UnitRatio       = "ratio"
	UnitNanoseconds = "nanoseconds"
	UnitUSD         = "usd"
)

// Point is one step of a time series; Value is nil where the metric is
// undefined for the step.
type Point struct {
	TimeUnixNano int64    `json:"timeUnixNano,string"`
	Value        *float64 `json:"value"`
}

// Dependencies is the body of GET /api/v1/dependencies.
type Dependencies struct {
	Edges []DependencyEdge `json:"edges"`
}

// DependencyEdge is calls from service Parent to service Child.
type DependencyEdge struct {
	Parent          string  `json:"parent"`
	Child           string  `json:"child"`
	Calls           uint64  `json:"calls"`
	Errors          uint64  `json:"errors"`
	P95DurationNano float64 `json:"p95DurationNano"`
}

// Attributes is the body of GET /api/v1/attributes.
type Attributes struct {
	Attributes []AttributeKey `json:"attributes"`
}

// AttributeKey is an attribute key seen in a window.
type AttributeKey struct {
	Key   string `json:"key"`
	Scope string `json:"scope"`
	Type  string `json:"type"`
	Count uint64 `json:"count"`
}

// AttributeValues is the body of GET /api/v1/attributes/{key}/values.
type AttributeValues struct {
	Key    string           `json:"key"`
	Values []AttributeValue `json:"values"`
}

// AttributeValue is one value of a key and how many spans carry it.
type AttributeValue struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// ErrorResponse is the body of every non-2xx /api/v1 response.
type ErrorResponse struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Parameter string `json:"parameter,omitempty"`
	} `json:"error"`
}
