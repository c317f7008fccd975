// Package api is the contract of Coldtrace's REST API (/api/v1): the
// response types, the one error shape, and the OpenAPI 3 document that
// describes them. It has no dependencies beyond the standard library so
// that Go clients (the Grafana plugin's backend, tests, tools) can decode
// responses with the very types the server encodes.
//
// Conventions, everywhere:
//   - Instants are given twice: *UnixNano, unix nanoseconds as a decimal
//     string (JSON numbers lose precision past 2^53 in JavaScript), and an
//     RFC 3339 string with nanoseconds for people.
//   - Durations are nanoseconds as JSON numbers (*Nano fields).
//   - IDs are lower-case hex: trace ids 32 characters, span ids 16.
package api

import (
	"encoding/json"
	"time"
)

// Prefix is the path under which every /api/v1 endpoint lives.
const Prefix = "/api/v1"

// ErrorResponse is the body of every non-2xx /api/v1 response.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error describes what went wrong.
type Error struct {
	// Code is one of the Code* constants; clients switch on it.
	Code string `json:"code"`
	// Message is for people.
	Message string `json:"message"`
	// Parameter names the query or path parameter at fault, if one is.
	Parameter string `json:"parameter,omitempty"`
}

// Error codes.
const (
	CodeBadParameter     = "bad_parameter"     // 400: a parameter is malformed or out of range
	CodeUnknownParameter = "unknown_parameter" // 400: the endpoint takes no such parameter
	CodeUnauthorized     = "unauthorized"      // 401: no valid token with the query scope
	CodeNotFound         = "not_found"         // 404: no such trace, route or function
	CodeTimeout          = "timeout"           // 504: the query ran past its time limit
	CodeTooLarge         = "too_large"         // 422: the result would exceed a configured bound
	CodeUnavailable      = "unavailable"       // 503: ClickHouse cannot be reached
	CodeInternal         = "internal"          // 500: a bug or an unexpected storage error
)

// Window is the time range a response covers, [start, end).
type Window struct {
	StartUnixNano int64     `json:"startUnixNano,string"`
	Start         time.Time `json:"start"`
	EndUnixNano   int64     `json:"endUnixNano,string"`
	End           time.Time `json:"end"`
}

// NewWindow returns the Window for [start, end).
func NewWindow(start, end time.Time) Window {
	return Window{StartUnixNano: start.UnixNano(), Start: start.UTC(), EndUnixNano: end.UnixNano(), End: end.UTC()}
}

// Status is the body of GET /api/v1/status. The status code is 200 when
// ClickHouse answered, 503 otherwise (same body).
type Status struct {
	// Status is "ok" or "degraded" (ClickHouse unreachable).
	Status     string           `json:"status"`
	Version    string           `json:"version"`
	ClickHouse ClickHouseStatus `json:"clickhouse"`
	// SpanCount is the number of spans stored for the request's tenant.
	SpanCount uint64 `json:"spanCount"`
	// Tenant is the tenant the request was served for ("" = default).
	Tenant string `json:"tenant"`
}

// ClickHouseStatus tells whether storage is reachable.
type ClickHouseStatus struct {
	Reachable bool `json:"reachable"`
	// Embedded is true for the in-process engine, false for a server.
	Embedded bool   `json:"embedded"`
	Database string `json:"database"`
	// Version is ClickHouse's version() when reachable.
	Version string `json:"version,omitempty"`
	// Error says why it is unreachable.
	Error string `json:"error,omitempty"`
}

// Attribute is one key/value of a span, resource, event or link. Value is
// the JSON value of the type Type: a string for string and bytes (base64),
// a boolean, a number for int and double, an array or an object for array
// and map. Values that are not valid for their type come as strings.
type Attribute struct {
	Key string `json:"key"`
	// Type is string, bool, int, double, bytes, array or map.
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Attribute value types.
const (
	TypeString = "string"
	TypeBool   = "bool"
	TypeInt    = "int"
	TypeDouble = "double"
	TypeBytes  = "bytes"
	TypeArray  = "array"
	TypeMap    = "map"
)

// Span kinds.
const (
	KindUnspecified = "unspecified"
	KindInternal    = "internal"
	KindServer      = "server"
	KindClient      = "client"
	KindProducer    = "producer"
	KindConsumer    = "consumer"
)

// Status codes.
const (
	StatusUnset = "unset"
	StatusOK    = "ok"
	StatusError = "error"
)

// Trace is the body of GET /api/v1/traces/{traceId}. The server streams
// it: spans in start-time order as they are read, then the summary,
// computed as they pass.
type Trace struct {
	TraceID string       `json:"traceId"`
	Summary TraceSummary `json:"summary"`
	Spans   []Span       `json:"spans"`
	// Warnings say what makes the trace look other than it was: spans
	// whose parent is missing, span ids stored twice. Absent when none.
	Warnings []string `json:"warnings,omitempty"`
}

// Span is one span with everything stored about it.
type Span struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	TraceState   string `json:"traceState,omitempty"`
	Name         string `json:"name"`
	// Kind is one of the Kind* constants.
	Kind    string `json:"kind"`
	Service string `json:"service"`

	StartTimeUnixNano int64     `json:"startTimeUnixNano,string"`
	StartTime         time.Time `json:"startTime"`
	// OffsetNano is the start relative to the trace's start, for
	// waterfalls without 64-bit arithmetic.
	OffsetNano   int64  `json:"offsetNano"`
	DurationNano uint64 `json:"durationNano"`

	Status     SpanStatus  `json:"status"`
	Attributes []Attribute `json:"attributes"`
	Resource   Resource    `json:"resource"`
	Scope      Scope       `json:"scope"`
	Events     []Event     `json:"events"`
	Links      []Link      `json:"links"`
	// Faas is set on function invocation spans.
	Faas *Invocation `json:"faas,omitempty"`
}

// SpanStatus is a span's status.
type SpanStatus struct {
	// Code is unset, ok or error.
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
	Time         time.Time   `json:"time"`
	Attributes   []Attribute `json:"attributes"`
}

// Link points from a span to another span, possibly of another trace.
type Link struct {
	TraceID    string      `json:"traceId"`
	SpanID     string      `json:"spanId"`
	TraceState string      `json:"traceState,omitempty"`
	Attributes []Attribute `json:"attributes"`
}

// Invocation is what Coldtrace knows about a function invocation span
// (the typed serverless columns).
type Invocation struct {
	Function  string `json:"function"`
	Version   string `json:"version"`
	Instance  string `json:"instance"`
	Trigger   string `json:"trigger"`
	ColdStart bool   `json:"coldStart"`
	// ErrorType is timeout, out_of_memory, crash, handler_error,
	// init_error or throttled; empty on success.
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
	TraceID string `json:"traceId"`
	// RootService and RootOperation are those of the span without a
	// parent, or of the earliest span when the root is missing.
	RootService       string    `json:"rootService"`
	RootOperation     string    `json:"rootOperation"`
	StartTimeUnixNano int64     `json:"startTimeUnixNano,string"`
	StartTime         time.Time `json:"startTime"`
	// DurationNano runs from the earliest span start to the latest end.
	DurationNano uint64 `json:"durationNano"`
	SpanCount    uint64 `json:"spanCount"`
	ErrorCount   uint64 `json:"errorCount"`
	// ColdStart is true when a span of the trace is a cold start.
	ColdStart bool `json:"coldStart"`
	// ErrorTypes are the distinct error.type values in the trace.
	ErrorTypes []string `json:"errorTypes"`
	Services   []string `json:"services"`
	// CostUSD is the estimated cost of the trace's function invocations.
	CostUSD float64 `json:"costUsd"`
}

// TraceSearch is the body of GET /api/v1/traces.
type TraceSearch struct {
	Window Window `json:"window"`
	// Traces are newest first: ordered by the start of their earliest
	// matching span, then trace id.
	Traces []TraceSummary `json:"traces"`
	// NextCursor fetches the next page (pass it as cursor with the same
	// filters); empty on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// Services is the body of GET /api/v1/services.
type Services struct {
	Window   Window    `json:"window"`
	Services []Service `json:"services"`
}

// Service is one service.name seen in the window.
type Service struct {
	Name       string `json:"name"`
	SpanCount  uint64 `json:"spanCount"`
	ErrorCount uint64 `json:"errorCount"`
	// Function is true when the service's spans come from a function
	// (faas.name set).
	Function bool `json:"function"`
}

// Operations is the body of GET /api/v1/services/{service}/operations.
type Operations struct {
	Window     Window      `json:"window"`
	Service    string      `json:"service"`
	Operations []Operation `json:"operations"`
}

// Operation is one span name of a service, per span kind.
type Operation struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	SpanCount uint64 `json:"spanCount"`
}

// Prices are what cost estimates are computed with (USD).
type Prices struct {
	PerGBSecond        float64 `json:"perGbSecond"`
	PerMillionRequests float64 `json:"perMillionRequests"`
}

// Functions is the body of GET /api/v1/functions.
type Functions struct {
	// Window is rounded out to whole minutes (the rollup's resolution).
	Window    Window            `json:"window"`
	Prices    Prices            `json:"prices"`
	Functions []FunctionSummary `json:"functions"`
}

// FunctionSummary is one function version's invocations over a window.
type FunctionSummary struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Invocations excludes throttled requests, which never ran.
	Invocations   uint64  `json:"invocations"`
	ColdStarts    uint64  `json:"coldStarts"`
	ColdStartRate float64 `json:"coldStartRate"`
	// InitDuration is null when there was no cold start.
	InitDuration *Quantiles `json:"initDuration"`
	// Duration is null when there was no invocation.
	Duration        *Quantiles `json:"duration"`
	AvgDurationNano float64    `json:"avgDurationNano"`
	Timeouts        uint64     `json:"timeouts"`
	// Errors counts failed invocations of every type.
	Errors       uint64       `json:"errors"`
	ErrorsByType ErrorsByType `json:"errorsByType"`
	Throttles    uint64       `json:"throttles"`

	BilledDurationNano uint64  `json:"billedDurationNano"`
	BilledGBSeconds    float64 `json:"billedGbSeconds"`
	Cost               Cost    `json:"cost"`
	MaxMemoryUsedBytes uint64  `json:"maxMemoryUsedBytes"`
	MemoryLimitBytes   uint64  `json:"memoryLimitBytes"`
}

// Quantiles of a duration, in nanoseconds.
type Quantiles struct {
	P50Nano float64 `json:"p50Nano"`
	P95Nano float64 `json:"p95Nano"`
	P99Nano float64 `json:"p99Nano"`
}

// ErrorsByType splits Errors by error.type. Errors whose span had status
// ERROR without an error.type count in Other.
type ErrorsByType struct {
	Timeout      uint64 `json:"timeout"`
	OutOfMemory  uint64 `json:"out_of_memory"`
	Crash        uint64 `json:"crash"`
	HandlerError uint64 `json:"handler_error"`
	InitError    uint64 `json:"init_error"`
	Other        uint64 `json:"other"`
}

// Cost is an estimate in USD: billed GB-seconds times the GB-second
// price, plus invocations times the request price.
type Cost struct {
	ComputeUSD  float64 `json:"computeUsd"`
	RequestsUSD float64 `json:"requestsUsd"`
	TotalUSD    float64 `json:"totalUsd"`
}

// Timeseries is the body of GET /api/v1/functions/{name}/timeseries.
type Timeseries struct {
	Function string `json:"function"`
	// Version is the version filter, empty for all versions.
	Version string `json:"version,omitempty"`
	Metric  string `json:"metric"`
	// Unit is count, ratio, nanoseconds or usd.
	Unit        string `json:"unit"`
	StepSeconds int64  `json:"stepSeconds"`
	Window      Window `json:"window"`
	// Points has one point per step from the window's start, in order,
	// including empty steps.
	Points []Point `json:"points"`
}

// Timeseries metrics and their units.
const (
	MetricInvocations   = "invocations"
	MetricColdStarts    = "coldstarts"
	MetricColdStartRate = "coldstart_rate"
	MetricDurationP50   = "duration_p50"
	MetricDurationP95   = "duration_p95"
	MetricDurationP99   = "duration_p99"
	MetricInitP50       = "init_p50"
	MetricInitP95       = "init_p95"
	MetricInitP99       = "init_p99"
	MetricTimeouts      = "timeouts"
	MetricErrors        = "errors"
	MetricCost          = "cost"

	UnitCount       = "count"
	UnitRatio       = "ratio"
	UnitNanoseconds = "nanoseconds"
	UnitUSD         = "usd"
)

// Metrics are the timeseries metrics, in the order documentation and
// error messages list them.
var Metrics = []string{
	MetricInvocations, MetricColdStarts, MetricColdStartRate,
	MetricInitP50, MetricInitP95, MetricInitP99,
	MetricDurationP50, MetricDurationP95, MetricDurationP99,
	MetricTimeouts, MetricErrors, MetricCost,
}

// Point is one step of a time series. Value is null where the metric is
// undefined (a rate or quantile of a step without invocations).
type Point struct {
	TimeUnixNano int64     `json:"timeUnixNano,string"`
	Time         time.Time `json:"time"`
	Value        *float64  `json:"value"`
}

// Instances is the body of GET /api/v1/functions/{name}/instances.
type Instances struct {
	Function string `json:"function"`
	Window   Window `json:"window"`
	// Instances are ordered by first seen, newest first.
	Instances []Instance `json:"instances"`
}

// Instance is one execution environment (faas.instance) of a function.
type Instance struct {
	Instance          string    `json:"instance"`
	Version           string    `json:"version"`
	FirstSeenUnixNano int64     `json:"firstSeenUnixNano,string"`
	FirstSeen         time.Time `json:"firstSeen"`
	LastSeenUnixNano  int64     `json:"lastSeenUnixNano,string"`
	LastSeen          time.Time `json:"lastSeen"`
	Invocations       uint64    `json:"invocations"`
	Errors            uint64    `json:"errors"`
	// ColdStart is the invocation that created the instance; null when
	// it is outside the window.
	ColdStart        *ColdStart `json:"coldStart"`
	PeakMemoryBytes  uint64     `json:"peakMemoryBytes"`
	MemoryLimitBytes uint64     `json:"memoryLimitBytes"`
	// MemoryUsedRatio is PeakMemoryBytes / MemoryLimitBytes, null when
	// either is unknown (0: spans without coldtrace.max_memory_used_bytes
	// or faas.max_memory).
	MemoryUsedRatio *float64 `json:"memoryUsedRatio"`
}

// ColdStart is the invocation that started an instance.
type ColdStart struct {
	TraceID          string    `json:"traceId"`
	SpanID           string    `json:"spanId"`
	TimeUnixNano     int64     `json:"timeUnixNano,string"`
	Time             time.Time `json:"time"`
	InitDurationNano uint64    `json:"initDurationNano"`
}

// Dependencies is the body of GET /api/v1/dependencies.
type Dependencies struct {
	Window Window           `json:"window"`
	Edges  []DependencyEdge `json:"edges"`
}

// DependencyEdge is calls from one service to another: child spans of
// service Child whose parent span belongs to service Parent.
type DependencyEdge struct {
	Parent string `json:"parent"`
	Child  string `json:"child"`
	Calls  uint64 `json:"calls"`
	// Errors counts child spans with status ERROR.
	Errors uint64 `json:"errors"`
	// P95DurationNano is the 95th percentile of the child spans' duration.
	P95DurationNano float64 `json:"p95DurationNano"`
}

// Attributes is the body of GET /api/v1/attributes.
type Attributes struct {
	Window     Window         `json:"window"`
	Attributes []AttributeKey `json:"attributes"`
}

// AttributeKey is an attribute key seen in the window.
type AttributeKey struct {
	Key string `json:"key"`
	// Scope is span or resource.
	Scope string `json:"scope"`
	// Type is the value type most spans carry for this key.
	Type  string `json:"type"`
	Count uint64 `json:"count"`
}

// Attribute scopes.
const (
	ScopeSpan     = "span"
	ScopeResource = "resource"
)

// AttributeValues is the body of GET /api/v1/attributes/{key}/values.
type AttributeValues struct {
	Key    string           `json:"key"`
	Window Window           `json:"window"`
	Values []AttributeValue `json:"values"`
}

// AttributeValue is one value of a key and how many spans carry it.
type AttributeValue struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}
