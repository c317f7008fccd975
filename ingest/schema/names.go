// Package schema owns Coldtrace's ClickHouse schema: table and column
// names (the one place both ingest and query take them from), the DDL, and
// versioned migrations.
//
// otel_traces keeps the OpenTelemetry Collector ClickHouse exporter's
// columns, names and types, so that exporter can write into it and
// Grafana's ClickHouse data source can read it. Coldtrace adds typed
// serverless columns whose DEFAULT expressions derive them from the
// attribute maps, so rows written by other tools get them too.
package schema

// Table names.
const (
	TracesTable = "otel_traces"
	// TraceIDLookupTable maps a trace id to its time range, span count
	// and services; TraceIDLookupView feeds it from TracesTable.
	TraceIDLookupTable = "otel_traces_trace_id_lookup"
	TraceIDLookupView  = "otel_traces_trace_id_lookup_mv"
	// TraceIDTimesTable is the OpenTelemetry exporter's name for the
	// lookup, which Grafana's ClickHouse data source reads: since
	// migration 4 a view of TraceIDLookupTable. It was a table fed by
	// TraceIDTimesView up to migration 3.
	TraceIDTimesTable  = "otel_traces_trace_id_ts"
	TraceIDTimesView   = "otel_traces_trace_id_ts_mv"
	FunctionStatsTable = "faas_invocations_1m"
	FunctionStatsView  = "faas_invocations_1m_mv"
	// HourlyFunctionStatsTable rolls FunctionStatsTable up by the hour.
	HourlyFunctionStatsTable = "faas_invocations_1h"
	HourlyFunctionStatsView  = "faas_invocations_1h_mv"
	MigrationsTable          = "schema_migrations"
	// MigrationLockTable exists while a process migrates the schema.
	MigrationLockTable = "schema_migrations_lock"
)

// Columns of TracesTable shared with the OpenTelemetry exporter.
const (
	ColTimestamp          = "Timestamp"
	ColTraceID            = "TraceId"
	ColSpanID             = "SpanId"
	ColParentSpanID       = "ParentSpanId"
	ColTraceState         = "TraceState"
	ColSpanName           = "SpanName"
	ColSpanKind           = "SpanKind"
	ColServiceName        = "ServiceName"
	ColResourceAttributes = "ResourceAttributes"
	ColScopeName          = "ScopeName"
	ColScopeVersion       = "ScopeVersion"
	ColSpanAttributes     = "SpanAttributes"
	ColDuration           = "Duration"
	ColStatusCode         = "StatusCode"
	ColStatusMessage      = "StatusMessage"
	ColEventsTimestamp    = "Events.Timestamp"
	ColEventsName         = "Events.Name"
	ColEventsAttributes   = "Events.Attributes"
	ColLinksTraceID       = "Links.TraceId"
	ColLinksSpanID        = "Links.SpanId"
	ColLinksTraceState    = "Links.TraceState"
	ColLinksAttributes    = "Links.Attributes"
)

// Coldtrace's typed columns of TracesTable.
const (
	ColTenantID               = "TenantId"
	ColFunctionName           = "FunctionName"
	ColFunctionVersion        = "FunctionVersion"
	ColFaasInstance           = "FaasInstance"
	ColFaasTrigger            = "FaasTrigger"
	ColIsInvocation           = "IsInvocation"
	ColColdStart              = "ColdStart"
	ColErrorType              = "ErrorType"
	ColInitDurationMs         = "InitDurationMs"
	ColBilledDurationMs       = "BilledDurationMs"
	ColMaxMemoryUsedBytes     = "MaxMemoryUsedBytes"
	ColMemoryLimitBytes       = "MemoryLimitBytes"
	ColTimeoutMs              = "TimeoutMs"
	ColSpanAttributeTypes     = "SpanAttributeTypes"
	ColResourceAttributeTypes = "ResourceAttributeTypes"
)

// InsertColumns is the column list the writer fills, in order.
var InsertColumns = []string{
	ColTimestamp, ColTraceID, ColSpanID, ColParentSpanID, ColTraceState,
	ColSpanName, ColSpanKind, ColServiceName, ColResourceAttributes,
	ColScopeName, ColScopeVersion, ColSpanAttributes, ColDuration,
	ColStatusCode, ColStatusMessage,
	ColEventsTimestamp, ColEventsName, ColEventsAttributes,
	ColLinksTraceID, ColLinksSpanID, ColLinksTraceState, ColLinksAttributes,
	ColTenantID, ColFunctionName, ColFunctionVersion, ColFaasInstance, ColFaasTrigger,
	ColIsInvocation, ColColdStart, ColErrorType, ColInitDurationMs,
	ColBilledDurationMs, ColMaxMemoryUsedBytes, ColMemoryLimitBytes, ColTimeoutMs,
	ColSpanAttributeTypes, ColResourceAttributeTypes,
}

// Attribute keys of the span contract (DESIGN.md) that map to typed columns.
const (
	AttrServiceName      = "service.name"
	AttrFaasName         = "faas.name"
	AttrFaasVersion      = "faas.version"
	AttrFaasInstance     = "faas.instance"
	AttrFaasMaxMemory    = "faas.max_memory"
	AttrFaasTrigger      = "faas.trigger"
	AttrFaasInvocationID = "faas.invocation_id"
	AttrFaasColdstart    = "faas.coldstart"
	AttrErrorType        = "error.type"
	AttrInitDurationMs   = "coldtrace.init_duration_ms"
	AttrBilledDurationMs = "coldtrace.billed_duration_ms"
	AttrMaxMemoryUsed    = "coldtrace.max_memory_used_bytes"
	AttrTimeoutMs        = "coldtrace.timeout_ms"
)

// Error types of the span contract.
const (
	ErrorTimeout     = "timeout"
	ErrorOutOfMemory = "out_of_memory"
	ErrorCrash       = "crash"
	ErrorHandler     = "handler_error"
	ErrorInit        = "init_error"
	ErrorThrottled   = "throttled"
)
