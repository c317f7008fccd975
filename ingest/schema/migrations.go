package schema

// Migration is one versioned, idempotent schema change. Its statements are
// templates rendered with Options; each must be safe to run again.
type Migration struct {
	Version     uint32
	Description string
	SQL         string
	// RequiresSetting names a MergeTree setting the migration changes.
	// A server that lacks it (an older ClickHouse) skips the migration
	// without recording it, so it runs once the server is upgraded.
	RequiresSetting string
	// ChangesViews names the materialized views whose query the
	// migration changes (MODIFY QUERY); see reloadViews.
	ChangesViews []string
}

// Storage choices in migration 1, measured with bench/ingest on the
// FaaS-shaped corpus (docs/benchmarks.md):
//   - ORDER BY (TenantId, ServiceName, toStartOfFifteenMinutes(Timestamp),
//     TraceId, Timestamp) keeps a function's spans of one trace together:
//     TraceId and ParentSpanId compress to a few bytes, and with the
//     lookup table's time window a trace-by-id read is a primary-key seek
//     per service and 15-minute bucket.
//   - The trace-id lookup also keeps the trace's services: with them and
//     the 15-minute bucket of its time window, a trace read is a
//     primary-key seek to one granule per service (2 of ~10,000 granules
//     of a 10M-span table, against 62 with the time window alone).
//   - index_granularity 1024 (not 8192) for otel_traces: a trace read
//     decompresses the granules holding its spans in every column it
//     returns, so smaller granules make trace-by-id several times cheaper
//     for about 2 bytes per span more marks.
//   - The attribute maps use ZSTD(3): 62 -> 55 bytes per span over
//     ZSTD(1); ZSTD(6) reaches 45 but costs about 20% more engine time
//     per insert.
//   - A bloom filter on attribute values serves attribute search; one on
//     keys was dropped: common keys are in every granule, so it skipped
//     nothing while costing insert time and bytes.
//   - Every table a spool insert reaches keeps a deduplication window, so
//     an insert repeated with the same insert_deduplication_token (after
//     a crash or a failed attempt) is stored once, materialized views
//     included.
//
// Migrations are applied in order. Never edit a released migration: add a
// new one.
var Migrations = []Migration{
	{Version: 1, Description: "spans, trace-id time lookup, per-minute function rollup", SQL: rollupMeasures + traceIDLookup + noLookupFlags + minuteRollup + `{{define "initKnown"}}ColdStart{{end}}` + migration1},
	{Version: 2, Description: "hourly function rollup", SQL: rollupMeasures + migration2},
	{Version: 3, Description: "trace-id lookup with 1024-row granules", SQL: traceIDLookup + noLookupFlags + migration3},
	{Version: 4, Description: "the exporter's trace-id lookup name becomes a view", SQL: traceIDLookup + noLookupFlags + migration4},
	{Version: 5, Description: "bloom filter on resource attribute values", SQL: migration5},
	{Version: 6, Description: "16 KB compressed blocks for spans", SQL: migration6},
	{Version: 7, Description: "no automatic column statistics", SQL: migration7, RequiresSetting: "auto_statistics_types"},
	{Version: 8, Description: "4-16 KB compressed blocks for the trace-id lookup", SQL: migration8},
	{Version: 9, Description: "strings stored with their lengths inline", SQL: migration9, RequiresSetting: "string_serialization_version"},
	{Version: 10, Description: "init durations only of cold starts that report one", SQL: minuteRollup + migration10,
		ChangesViews: []string{"faas_invocations_1m_mv"}},
	{Version: 11, Description: "an hour of the hourly rollup expires with its last minute", SQL: migration11},
	{Version: 12, Description: "stored parts expire by the retention in force", SQL: migration12},
	{Version: 13, Description: "the trace-id lookup knows whether a trace has events or links", SQL: traceIDLookup + migration13,
		ChangesViews: []string{"otel_traces_trace_id_lookup_mv"}},
}

// rollupMeasures are the measure columns of the function rollups, the
// per-minute one and the hourly one built from it.
const rollupMeasures = `{{define "rollupMeasures"}}    Invocations SimpleAggregateFunction(sum, UInt64),
    ColdStarts SimpleAggregateFunction(sum, UInt64),
    Errors SimpleAggregateFunction(sum, UInt64),
    Timeouts SimpleAggregateFunction(sum, UInt64),
    OutOfMemory SimpleAggregateFunction(sum, UInt64),
    Crashes SimpleAggregateFunction(sum, UInt64),
    HandlerErrors SimpleAggregateFunction(sum, UInt64),
    InitErrors SimpleAggregateFunction(sum, UInt64),
    Throttles SimpleAggregateFunction(sum, UInt64),
    DurationSum SimpleAggregateFunction(sum, UInt64),
    DurationQuantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), UInt64),
    InitDurationSum SimpleAggregateFunction(sum, Float64),
    InitDurationQuantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64),
    BilledDurationMs SimpleAggregateFunction(sum, UInt64),
    BilledGBSeconds SimpleAggregateFunction(sum, Float64),
    MaxMemoryUsedBytes SimpleAggregateFunction(max, UInt64),
    MemoryLimitBytes SimpleAggregateFunction(max, UInt64){{end}}`

// minuteRollup is the per-minute rollup's query; {{template "initKnown"}}
// selects the spans whose init duration it takes.
const minuteRollup = `{{define "minuteRollup"}}SELECT
    TenantId,
    FunctionName,
    FunctionVersion,
    toStartOfMinute(Timestamp) AS Minute,
    countIf(ErrorType != 'throttled') AS Invocations,
    countIf(ColdStart) AS ColdStarts,
    countIf(ErrorType != 'throttled' AND (ErrorType != '' OR StatusCode = 'Error')) AS Errors,
    countIf(ErrorType = 'timeout') AS Timeouts,
    countIf(ErrorType = 'out_of_memory') AS OutOfMemory,
    countIf(ErrorType = 'crash') AS Crashes,
    countIf(ErrorType = 'handler_error') AS HandlerErrors,
    countIf(ErrorType = 'init_error') AS InitErrors,
    countIf(ErrorType = 'throttled') AS Throttles,
    sumIf(Duration, ErrorType != 'throttled') AS DurationSum,
    quantilesTDigestStateIf(0.5, 0.9, 0.95, 0.99)(Duration, ErrorType != 'throttled') AS DurationQuantiles,
    sumIf(InitDurationMs, {{template "initKnown"}}) AS InitDurationSum,
    quantilesTDigestStateIf(0.5, 0.9, 0.95, 0.99)(InitDurationMs, {{template "initKnown"}}) AS InitDurationQuantiles,
    sum(s.BilledDurationMs) AS BilledDurationMs,
    sum(s.BilledDurationMs * s.MemoryLimitBytes) / 1073741824000 AS BilledGBSeconds,
    max(s.MaxMemoryUsedBytes) AS MaxMemoryUsedBytes,
    max(s.MemoryLimitBytes) AS MemoryLimitBytes
FROM {{.Store "otel_traces"}} AS s
WHERE IsInvocation
GROUP BY TenantId, FunctionName, FunctionVersion, Minute{{end}}`

const migration1 = `
CREATE TABLE IF NOT EXISTS {{.Store "otel_traces"}} {{.OnCluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(3)),
    SpanKind LowCardinality(String) CODEC(ZSTD(3)),
    ServiceName LowCardinality(String) CODEC(ZSTD(3)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(3)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    TenantId LowCardinality(String) DEFAULT '' CODEC(ZSTD(1)),
    FunctionName LowCardinality(String) DEFAULT ResourceAttributes['faas.name'] CODEC(ZSTD(1)),
    FunctionVersion LowCardinality(String) DEFAULT ResourceAttributes['faas.version'] CODEC(ZSTD(1)),
    FaasInstance String DEFAULT ResourceAttributes['faas.instance'] CODEC(ZSTD(1)),
    FaasTrigger LowCardinality(String) DEFAULT SpanAttributes['faas.trigger'] CODEC(ZSTD(1)),
    IsInvocation Bool DEFAULT ResourceAttributes['faas.name'] != ''
        AND (mapContains(SpanAttributes, 'faas.trigger') OR mapContains(SpanAttributes, 'faas.invocation_id')) CODEC(ZSTD(1)),
    ColdStart Bool DEFAULT SpanAttributes['faas.coldstart'] = 'true' CODEC(ZSTD(1)),
    ErrorType LowCardinality(String) DEFAULT SpanAttributes['error.type'] CODEC(ZSTD(1)),
    InitDurationMs Float64 DEFAULT toFloat64OrZero(SpanAttributes['coldtrace.init_duration_ms']) CODEC(ZSTD(1)),
    BilledDurationMs UInt64 DEFAULT toUInt64OrZero(SpanAttributes['coldtrace.billed_duration_ms']) CODEC(T64, ZSTD(1)),
    MaxMemoryUsedBytes UInt64 DEFAULT toUInt64OrZero(SpanAttributes['coldtrace.max_memory_used_bytes']) CODEC(T64, ZSTD(1)),
    MemoryLimitBytes UInt64 DEFAULT toUInt64OrZero(ResourceAttributes['faas.max_memory']) CODEC(T64, ZSTD(1)),
    TimeoutMs UInt64 DEFAULT toUInt64OrZero(SpanAttributes['coldtrace.timeout_ms']) CODEC(T64, ZSTD(1)),
    SpanAttributeTypes Map(LowCardinality(String), LowCardinality(String)) DEFAULT map() CODEC(ZSTD(1)),
    ResourceAttributeTypes Map(LowCardinality(String), LowCardinality(String)) DEFAULT map() CODEC(ZSTD(1)),
    INDEX idx_ts Timestamp TYPE minmax GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{.Engine "MergeTree" "otel_traces"}}
PARTITION BY toDate(Timestamp)
ORDER BY (TenantId, ServiceName, toStartOfFifteenMinutes(Timestamp), TraceId, Timestamp)
TTL toDateTime(Timestamp) + toIntervalSecond({{.RetentionSeconds}})
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

{{.Distributed "otel_traces" "cityHash64(TraceId)"}};

CREATE TABLE IF NOT EXISTS {{.Store "otel_traces_trace_id_ts"}} {{.OnCluster}} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1)),
    SpanCount SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1)),
    Services SimpleAggregateFunction(groupUniqArrayArray, Array(String)) CODEC(ZSTD(1))
) ENGINE = {{.Engine "AggregatingMergeTree" "otel_traces_trace_id_ts"}}
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
TTL Start + toIntervalSecond({{.RetentionSeconds}})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

{{.Distributed "otel_traces_trace_id_ts" "cityHash64(TraceId)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Table "otel_traces_trace_id_ts_mv"}} {{.OnCluster}}
TO {{.Store "otel_traces_trace_id_ts"}} AS
{{template "lookupRow" .}};

CREATE TABLE IF NOT EXISTS {{.Store "faas_invocations_1m"}} {{.OnCluster}} (
    TenantId LowCardinality(String),
    FunctionName LowCardinality(String),
    FunctionVersion LowCardinality(String),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
{{template "rollupMeasures"}}
) ENGINE = {{.Engine "AggregatingMergeTree" "faas_invocations_1m"}}
PARTITION BY toDate(Minute)
ORDER BY (TenantId, FunctionName, FunctionVersion, Minute)
TTL Minute + toIntervalSecond({{.RetentionSeconds}})
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

{{.Distributed "faas_invocations_1m" "cityHash64(FunctionName)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Table "faas_invocations_1m_mv"}} {{.OnCluster}}
TO {{.Store "faas_invocations_1m"}} AS
{{template "minuteRollup" .}}
`

// Migration 2: the functions summary over 24 h spent most of its 45 ms
// merging the t-digests of 28,800 minute rows (20 functions); an hourly
// rollup, fed from the per-minute one, leaves 480. A window reads whole
// hours from it and its partial hours at either end from the minutes.
// The backfill copies what the per-minute rollup holds when the hourly one
// is still empty (a rerun after a failure finds it filled); it reads and
// writes the canonical tables, so on a cluster it runs once for all
// shards, both rollups being sharded by function name.
const migration2 = `
CREATE TABLE IF NOT EXISTS {{.Store "faas_invocations_1h"}} {{.OnCluster}} (
    TenantId LowCardinality(String),
    FunctionName LowCardinality(String),
    FunctionVersion LowCardinality(String),
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
{{template "rollupMeasures"}}
) ENGINE = {{.Engine "AggregatingMergeTree" "faas_invocations_1h"}}
PARTITION BY toDate(Hour)
ORDER BY (TenantId, FunctionName, FunctionVersion, Hour)
TTL Hour + toIntervalSecond({{.RetentionSeconds}})
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

{{.Distributed "faas_invocations_1h" "cityHash64(FunctionName)"}};

{{define "hourly"}}SELECT
    TenantId,
    FunctionName,
    FunctionVersion,
    toStartOfHour(Minute) AS Hour,
    sum(Invocations) AS Invocations,
    sum(ColdStarts) AS ColdStarts,
    sum(Errors) AS Errors,
    sum(Timeouts) AS Timeouts,
    sum(OutOfMemory) AS OutOfMemory,
    sum(Crashes) AS Crashes,
    sum(HandlerErrors) AS HandlerErrors,
    sum(InitErrors) AS InitErrors,
    sum(Throttles) AS Throttles,
    sum(DurationSum) AS DurationSum,
    quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(DurationQuantiles) AS DurationQuantiles,
    sum(InitDurationSum) AS InitDurationSum,
    quantilesTDigestMergeState(0.5, 0.9, 0.95, 0.99)(InitDurationQuantiles) AS InitDurationQuantiles,
    sum(BilledDurationMs) AS BilledDurationMs,
    sum(BilledGBSeconds) AS BilledGBSeconds,
    max(MaxMemoryUsedBytes) AS MaxMemoryUsedBytes,
    max(MemoryLimitBytes) AS MemoryLimitBytes{{end}}
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Table "faas_invocations_1h_mv"}} {{.OnCluster}}
TO {{.Store "faas_invocations_1h"}} AS
{{template "hourly"}}
FROM {{.Store "faas_invocations_1m"}}
GROUP BY TenantId, FunctionName, FunctionVersion, Hour;

INSERT INTO {{.Table "faas_invocations_1h"}}
{{template "hourly"}}
FROM {{.Table "faas_invocations_1m"}}
WHERE (SELECT count() FROM {{.Table "faas_invocations_1h"}}) = 0
GROUP BY TenantId, FunctionName, FunctionVersion, Hour
`

// traceIDLookup is the lookup's columns; {{template "lookupRow" .}} is one
// row of them computed from spans, with the columns {{template
// "lookupFlags"}} adds (none before migration 13).
const traceIDLookup = `{{define "lookupColumns"}}TraceId, Start, End, SpanCount, Services{{end}}{{define "lookupRow"}}SELECT
    TraceId,
    min(toDateTime(Timestamp)) AS Start,
    max(toDateTime(Timestamp)) AS End,
    toUInt64(count()) AS SpanCount,
    groupUniqArray(ServiceName) AS Services{{template "lookupFlags"}}
FROM {{.Store "otel_traces"}}
WHERE TraceId != ''
GROUP BY TraceId{{end}}`

// noLookupFlags is lookupRow as released before migration 13.
const noLookupFlags = `{{define "lookupFlags"}}{{end}}`

// Migration 3: a search page summarises 20 traces, and finding their time
// ranges read 20 granules of the lookup: with 8,192-row granules that was
// 9-14 ms of a ~30 ms summary query; with 1,024 rows, an eighth of the
// rows, the query takes ~24 ms, for 0.1 byte per span more marks
// (docs/benchmarks.md). A table's
// granularity cannot be altered, so the lookup moves to a new table. The
// backfill runs before the new view exists, while the new table is
// empty: a rerun after a failure finds it filled and copies nothing.
// Spans stored between the backfill and the view reach only the old
// table; a process migrates before it receives spans, and deploy.md asks
// scaled-out deployments to stop their collectors while upgrading.
const migration3 = `
CREATE TABLE IF NOT EXISTS {{.Store "otel_traces_trace_id_lookup"}} {{.OnCluster}} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1)),
    SpanCount SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1)),
    Services SimpleAggregateFunction(groupUniqArrayArray, Array(String)) CODEC(ZSTD(1))
) ENGINE = {{.Engine "AggregatingMergeTree" "otel_traces_trace_id_lookup"}}
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
TTL Start + toIntervalSecond({{.RetentionSeconds}})
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

{{.Distributed "otel_traces_trace_id_lookup" "cityHash64(TraceId)"}};

INSERT INTO {{.Table "otel_traces_trace_id_lookup"}} ({{template "lookupColumns"}})
SELECT {{template "lookupColumns"}}
FROM {{.Table "otel_traces_trace_id_ts"}}
WHERE (SELECT count() FROM {{.Table "otel_traces_trace_id_lookup"}}) = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Table "otel_traces_trace_id_lookup_mv"}} {{.OnCluster}}
TO {{.Store "otel_traces_trace_id_lookup"}} AS
{{template "lookupRow" .}}
`

// Migration 4 retires the old lookup table and keeps its name, which the
// exporter and Grafana's ClickHouse data source use, as a view of the new
// one. It is separate from migration 3 so that every statement of both
// stays safe to rerun: the backfill reads the old table, which exists
// until migration 3 is recorded. On a single node the second DROP finds
// nothing (the stored table is the named one); on a cluster it drops the
// shards' _local tables behind the Distributed one.
const migration4 = `
DROP VIEW IF EXISTS {{.Table "otel_traces_trace_id_ts_mv"}} {{.OnCluster}};

DROP TABLE IF EXISTS {{.Table "otel_traces_trace_id_ts"}} {{.OnCluster}};

DROP TABLE IF EXISTS {{.Store "otel_traces_trace_id_ts"}} {{.OnCluster}};

CREATE VIEW IF NOT EXISTS {{.Table "otel_traces_trace_id_ts"}} {{.OnCluster}} AS
SELECT {{template "lookupColumns"}} FROM {{.Table "otel_traces_trace_id_lookup"}}
`

// Migration 5: a filter on resource attributes (resource.KEY, and Jaeger's
// tag search, which matches span or resource attributes) read every
// resource map of its window. A bloom filter on their values, as span
// attributes have, lets ClickHouse skip granules for either (it combines
// both indexes across span OR resource): on 10M spans one such query over
// 24 h went from 1.6 s to 0.1 s, and the Jaeger tag search, which reads in
// chunks, from 272 to 147 ms p50. It costs 0.04 bytes per span (a granule
// holds one service's few resources) and 3-6 % of insert throughput
// (docs/benchmarks.md). Parts written before it get the index as merges
// rewrite them; until then they are read as before.
const migration5 = `
ALTER TABLE {{.Store "otel_traces"}} {{.OnCluster}}
ADD INDEX IF NOT EXISTS idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1
`

// Migration 6: a trace-by-id read touches 2 granules in each of ~96
// column streams, and reads a granule by decompressing the whole
// compressed block around it. A block closes once it holds
// min_compress_block_size (64 KB by default), so a small column's block
// spans dozens of granules, and a read of ~10 spans decompressed 6.7 MB.
// With 16 KB, 2.9 MB: trace by id went from 19.5-20.7 to 16.0-17.2 ms
// p50 on 10M spans for 1.1 bytes per span more. Capping blocks at 64 KB
// as well gained nothing more (a read decompresses a granule's blocks
// whole either way) for 0.4 bytes more; 4 KB blocks ~0.7 ms more for 3.5
// bytes (docs/benchmarks.md). Parts written before it keep their blocks
// until merges rewrite them.
const migration6 = `
ALTER TABLE {{.Store "otel_traces"}} {{.OnCluster}}
MODIFY SETTING min_compress_block_size = 16384
`

// Migration 7: since 26.4, ClickHouse builds minmax and uniq statistics
// of every column on each merge (auto_statistics_types) and loads them
// when it plans a query. Coldtrace's reads are primary-key and skip-index
// reads that statistics do not improve, and a part's statistics are
// cached only from the next refresh (refresh_statistics_interval, 300 s)
// on: with ingest merging parts all the time, a query loads the newest
// parts' statistics from disk. On 10M spans that was ~3.7 ms more engine
// time per read of one trace with two uncached parts, and 0.3-1 ms with
// every part cached; building them was 5 % of the CPU of loading the 10M
// spans, and they took 0.34 bytes per span (docs/benchmarks.md). Parts
// keep the statistics they have until merges rewrite them.
const migration7 = `
ALTER TABLE {{.Store "otel_traces"}} {{.OnCluster}}
MODIFY SETTING auto_statistics_types = '';

ALTER TABLE {{.Store "otel_traces_trace_id_lookup"}} {{.OnCluster}}
MODIFY SETTING auto_statistics_types = '';

ALTER TABLE {{.Store "faas_invocations_1m"}} {{.OnCluster}}
MODIFY SETTING auto_statistics_types = '';

ALTER TABLE {{.Store "faas_invocations_1h"}} {{.OnCluster}}
MODIFY SETTING auto_statistics_types = ''
`

// Migration 8: the lookup a trace-by-id read starts with reads one
// 1,024-row granule of four columns, but decompressed the 64 KB-1 MB
// blocks around it (~460 KB a lookup). With blocks of 4-16 KB the lookup
// took 2.4 instead of 2.8 ms p50 of engine time on 1M traces, for 0.15
// bytes per span more (docs/benchmarks.md). Parts written before it keep
// their blocks until merges rewrite them, which for this table, merged
// often, is soon.
const migration8 = `
ALTER TABLE {{.Store "otel_traces_trace_id_lookup"}} {{.OnCluster}}
MODIFY SETTING min_compress_block_size = 4096, max_compress_block_size = 16384
`

// Migration 9: since 25.11 ClickHouse stores each String column's
// lengths in a stream of their own (string_serialization_version =
// 'with_size_stream'; nested strings too, such as map values), so that
// length() and empty() can read lengths alone. None of our queries does,
// and a trace-by-id read pays for each stream it opens: it reads ~70 of
// them, 14 of them such length streams. With the lengths inline, as
// ClickHouse stored strings before, a read of one trace took 1.1 ms less
// engine time at p50 and ~2 ms less at p99 on 10M spans, inserts took ~5 %
// less CPU, and storage shrank from 56.3 to 44.7 bytes per span on
// bench/ingest's corpus: a repeated value's length compresses with it
// (resource attribute values most of all), while a column of random ids
// such as SpanId grows by its lengths. The lookup gets it too (0.3 ms less
// per lookup; docs/benchmarks.md). Parts written before it keep their
// streams until merges rewrite them.
const migration9 = `
ALTER TABLE {{.Store "otel_traces"}} {{.OnCluster}}
MODIFY SETTING string_serialization_version = 'single_stream';

ALTER TABLE {{.Store "otel_traces_trace_id_lookup"}} {{.OnCluster}}
MODIFY SETTING string_serialization_version = 'single_stream'
`

// Migration 10: the per-minute rollup took the init duration of every
// cold start, and a span that says faas.coldstart without
// coldtrace.init_duration_ms (other runtimes' instrumentation, AWS
// Lambda's included) has 0 there: it pulled init quantiles down, to 0 for
// a function whose cold starts never report one. Now only cold starts
// with an init duration count; without any the quantiles are null.
// Minutes already rolled up keep what they had.
const migration10 = `{{define "initKnown"}}ColdStart AND InitDurationMs > 0{{end}}
ALTER TABLE {{.Table "faas_invocations_1m_mv"}} {{.OnCluster}} MODIFY QUERY
{{template "minuteRollup" .}}
`

// Migration 11: an hour's row of the hourly rollup expired at the hour's
// start plus the retention, up to 59 minutes before the spans and minutes
// it sums (with a retention shorter than an hour's age, on arrival): a
// window reading whole hours lost its oldest one early. It now expires
// with the hour's end. Stored parts get the new expiry from their Hour
// column alone (materialize_ttl_recalculate_only).
const migration11 = `
ALTER TABLE {{.Store "faas_invocations_1h"}} {{.OnCluster}} MODIFY SETTING materialize_ttl_recalculate_only = 1;
ALTER TABLE {{.Store "faas_invocations_1h"}} {{.OnCluster}} MODIFY TTL Hour + toIntervalHour(1) + toIntervalSecond({{.RetentionSeconds}})
`

// Migration 12: releases before it changed --retention without touching
// the parts already stored (materialize_ttl_after_modify = 0), so a part
// could keep the expiry of an earlier, shorter retention while the table
// said the current one, and be dropped early. Each table's stored parts
// get their expiry recomputed once, from their time column alone.
const migration12 = `{{range .TTLTables}}
ALTER TABLE {{$.Store .}} {{$.OnCluster}} MODIFY SETTING materialize_ttl_recalculate_only = 1;
ALTER TABLE {{$.Store .}} {{$.OnCluster}} MATERIALIZE TTL;
{{end}}`

// Migration 13: a read of one trace opens every column stream it reads,
// and the span events and links are 7 of its ~24 columns (with their
// array sizes and map keys, about a fifth of the streams), read even when
// no span of the trace has any, as with most spans other than an
// invocation that logged. The lookup now says whether any span of a
// trace has events, and whether any has links, so the read leaves out
// what no span has (docs/benchmarks.md). Rows written before it know
// nothing about either: their DEFAULT 1 says "maybe", and max() keeps a
// maybe when such a row merges with newer ones.
const migration13 = `{{define "lookupFlags"}},
    max(notEmpty(Events.Timestamp)) AS HasEvents,
    max(notEmpty(Links.TraceId)) AS HasLinks{{end}}{{define "lookupFlagColumns"}}ADD COLUMN IF NOT EXISTS HasEvents SimpleAggregateFunction(max, UInt8) DEFAULT 1 CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS HasLinks SimpleAggregateFunction(max, UInt8) DEFAULT 1 CODEC(ZSTD(1)){{end}}
ALTER TABLE {{.Store "otel_traces_trace_id_lookup"}} {{.OnCluster}}
    {{template "lookupFlagColumns"}};
{{if .Cluster}}
ALTER TABLE {{.Table "otel_traces_trace_id_lookup"}} {{.OnCluster}}
    {{template "lookupFlagColumns"}};
{{end}}
ALTER TABLE {{.Table "otel_traces_trace_id_lookup_mv"}} {{.OnCluster}} MODIFY QUERY
{{template "lookupRow" .}}
`
