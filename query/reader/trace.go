package reader

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/query/api"
)

// summaryColumns aggregate a trace's spans into an api.TraceSummary (see
// scanSummary). The root is the span without a parent, or the earliest.
const summaryColumns = `
    TraceId,
    argMin(ServiceName, (ParentSpanId != '', Timestamp)),
    argMin(SpanName, (ParentSpanId != '', Timestamp)),
    min(toUnixTimestamp64Nano(Timestamp)),
    max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)),
    count(),
    countIf(StatusCode = 'Error' OR ErrorType != ''),
    max(ColdStart),
    arraySort(groupUniqArrayIf(ErrorType, ErrorType != '')),
    arraySort(groupUniqArray(ServiceName)),
    sumIf(BilledDurationMs * MemoryLimitBytes, IsInvocation) / 1073741824000,
    countIf(IsInvocation AND ErrorType != 'throttled')`

func (r *Reader) scanSummary(rows driver.Rows) (api.TraceSummary, error) {
	var (
		s                  api.TraceSummary
		endNs              int64
		gbSeconds          float64
		invocations        uint64
		rootSvc, rootOp    string
		errorTypes, svcs   []string
		spanCount, errored uint64
		cold               bool
	)
	if err := rows.Scan(&s.TraceID, &rootSvc, &rootOp, &s.StartTimeUnixNano, &endNs,
		&spanCount, &errored, &cold, &errorTypes, &svcs, &gbSeconds, &invocations); err != nil {
		return s, err
	}
	s.RootService, s.RootOperation = rootSvc, rootOp
	s.StartTime = unixNano(s.StartTimeUnixNano)
	if endNs > s.StartTimeUnixNano {
		s.DurationNano = uint64(endNs - s.StartTimeUnixNano)
	}
	s.SpanCount, s.ErrorCount, s.ColdStart = spanCount, errored, cold
	s.ErrorTypes, s.Services = nonNil(errorTypes), nonNil(svcs)
	if invocations > 0 || gbSeconds > 0 {
		s.CostUSD = r.cost(gbSeconds, invocations).TotalUSD
	}
	return s, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// lookupWindow binds w to the range of span starts and the services the
// trace-id lookup table knows for the traces whose TraceId matches
// (e.g. "= @id"). Its Start and End are whole seconds of span starts: the
// spans lie in [Start, End+1s). The scalar subquery runs first, so its
// values act as constants in the span read's primary-key analysis. The
// bounds must be DateTime64(9) like Timestamp: ClickHouse 26.5 compares
// DateTime64(9) with a DateTime from a scalar subquery wrongly.
func (r *Reader) lookupWindow(match string) string {
	return `WITH (SELECT (toDateTime64(min(Start), 9), toDateTime64(max(End) + 1, 9), groupUniqArrayArray(Services)) FROM ` +
		r.traceTimes + ` WHERE TraceId ` + match + `) AS w
`
}

// inTraceRange restricts a span read to a trace's services (the
// condition inService) and span starts in [start, end), with conditions on
// the primary key's own expressions (ServiceName and the 15-minute bucket
// before TraceId), so the read seeks to one granule per service.
func inTraceRange(inService, start, end string) string {
	return ` AND ` + inService + ` AND Timestamp >= ` + start + ` AND Timestamp < ` + end + `
    AND toStartOfFifteenMinutes(Timestamp) >= toStartOfFifteenMinutes(` + start + `)
    AND toStartOfFifteenMinutes(Timestamp) <= toStartOfFifteenMinutes(` + end + `)`
}

// inLookupWindow restricts a span read to lookupWindow's w.
var inLookupWindow = inTraceRange("has(w.3, ServiceName)", "w.1", "w.2")

// spanColumns are read by spanScan, in order: the core columns, the
// events, the links. The typed serverless columns are not among them:
// spanScan derives them from the attributes as ingest did
// (schema.Serverless), which is 1.6 ms less of a 13 ms trace read on 10M
// spans than reading them (docs/benchmarks.md).
const (
	spanCoreColumns = `
    TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName,
    toUnixTimestamp64Nano(Timestamp), Duration, StatusCode, StatusMessage,
    SpanAttributes, SpanAttributeTypes, ResourceAttributes, ResourceAttributeTypes,
    ScopeName, ScopeVersion`
	spanEventColumns = `,
    arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp), Events.Name, Events.Attributes`
	spanLinkColumns = `,
    Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes`
	spanColumns = spanCoreColumns + spanEventColumns + spanLinkColumns
)

// oneTraceSettings end the reads of one trace's spans (trace by id).
// ClickHouse's query analyzer (the default since 24.3) spends ~2.5 ms more
// than the one before it planning such a read of the span columns, of ~20
// ms of engine time per read on 10M spans when measured, for the same
// granules and rows (docs/benchmarks.md). The reads of several traces keep
// the analyzer: the old one cannot plan their two ARRAY JOINs.
const oneTraceSettings = "\nSETTINGS enable_analyzer = 0"

// lookedUpTraceSettings end the read of one trace within its lookup
// extent, which skips the skip indexes too: with the trace's services
// and 15-minute buckets, the primary key alone narrows the read to the
// granules that hold its spans, which no attribute bloom filter or time
// minmax can drop, and reading the indexes cost ~1 ms of the ~11 ms of
// engine CPU per read on 10M spans (docs/benchmarks.md). A read within a
// caller's time hint names no service, and there the time minmax can
// drop granules, so it keeps them.
const lookedUpTraceSettings = oneTraceSettings + ", use_skip_indexes = 0"

// SpanFunc receives spans one at a time. The span is reused: copy what
// must outlive the call.
type SpanFunc func(*api.Span) error

// SpanStream is an open span query. Spans never accumulate in memory:
// each is decoded, handed on, and dropped.
type SpanStream struct {
	r     *Reader
	rows  driver.Rows
	sc    spanScan
	span  api.Span
	trace string
	first int64
	sum   summaryAcc
}

// Next decodes the next span; nil at the end.
func (s *SpanStream) Next() (*api.Span, error) {
	if s.rows == nil {
		return nil, nil
	}
	if !s.rows.Next() {
		if err := s.rows.Err(); err != nil {
			return nil, fmt.Errorf("spans: %w", err)
		}
		return nil, nil
	}
	if err := s.sc.scan(s.rows); err != nil {
		return nil, fmt.Errorf("spans: %w", err)
	}
	if s.sc.traceID != s.trace {
		s.trace, s.first = s.sc.traceID, s.sc.startNs
		s.sum = summaryAcc{}
	}
	s.r.fill(&s.span, &s.sc, s.first)
	s.sum.add(&s.sc)
	return &s.span, nil
}

// Summary summarises the spans of the current trace read so far; after
// the last span of a single-trace stream, the whole trace (the same
// summary as search's, computed as the spans pass).
func (s *SpanStream) Summary() api.TraceSummary { return s.sum.summary(s.r) }

// summaryAcc accumulates a trace summary span by span, by the rules of
// summaryColumns. Spans come in start order.
type summaryAcc struct {
	traceID          string
	root             [2]string
	rootFound        bool
	startNs, endNs   int64
	spans, errors    uint64
	cold             bool
	errorTypes, svcs map[string]bool
	gbSeconds        float64
	invocations      uint64
}

func (a *summaryAcc) add(s *spanScan) {
	if a.spans == 0 {
		a.traceID, a.startNs, a.root = s.traceID, s.startNs, [2]string{s.service, s.name}
		a.errorTypes, a.svcs = map[string]bool{}, map[string]bool{}
	}
	if !a.rootFound && s.parentID == "" {
		a.root, a.rootFound = [2]string{s.service, s.name}, true
	}
	a.spans++
	a.endNs = max(a.endNs, s.startNs+int64(s.duration))
	if s.statusCode == "Error" || s.ErrorType != "" {
		a.errors++
	}
	if s.ErrorType != "" {
		a.errorTypes[s.ErrorType] = true
	}
	a.cold = a.cold || s.ColdStart
	a.svcs[s.service] = true
	if s.IsInvocation {
		a.gbSeconds += float64(s.BilledDurationMs*s.MemoryLimitBytes) / gbSecondsDivisor
		if s.ErrorType != schema.ErrorThrottled {
			a.invocations++
		}
	}
}

func (a *summaryAcc) summary(r *Reader) api.TraceSummary {
	sum := api.TraceSummary{
		TraceID: a.traceID, RootService: a.root[0], RootOperation: a.root[1],
		StartTimeUnixNano: a.startNs, StartTime: unixNano(a.startNs),
		SpanCount: a.spans, ErrorCount: a.errors, ColdStart: a.cold,
		ErrorTypes: sortedSet(a.errorTypes), Services: sortedSet(a.svcs),
	}
	if a.endNs > a.startNs {
		sum.DurationNano = uint64(a.endNs - a.startNs)
	}
	if a.invocations > 0 || a.gbSeconds > 0 {
		sum.CostUSD = r.cost(a.gbSeconds, a.invocations).TotalUSD
	}
	return sum
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Each hands every remaining span to fn.
func (s *SpanStream) Each(fn SpanFunc) error {
	for {
		sp, err := s.Next()
		if sp == nil || err != nil {
			return err
		}
		if err := fn(sp); err != nil {
			return err
		}
	}
}

// Close ends the query.
func (s *SpanStream) Close() error {
	if s.rows == nil {
		return nil
	}
	return s.rows.Close()
}

// spansOrder orders spans by their trace's position in @idList, then by
// start. OffsetNano is measured from each trace's first span.
const spansOrder = "\nORDER BY indexOf(@idList, TraceId), Timestamp, SpanId"

// OpenSpans queries the spans of traceIDs that started in w.
func (r *Reader) OpenSpans(ctx context.Context, traceIDs []string, w Window) (*SpanStream, error) {
	sql := `SELECT ` + spanColumns + `
FROM ` + r.spans + `
WHERE TenantId = @tenant AND TraceId IN @ids AND ` + inWindow + spansOrder + oneTraceSettings
	args := append(windowArgs(w), clickhouse.Named("ids", clickhouse.GroupSet{Value: anySlice(traceIDs)}), clickhouse.Named("idList", traceIDs))
	return r.openSpans(ctx, sql, args...)
}

// OpenTraces queries the spans of the traces ids, the traces in the order
// given and each one's spans in start order, each trace within its own
// window (inTraceWindows): one query, where a time range first and the
// spans in it second took two and read more (docs/benchmarks.md).
func (r *Reader) OpenTraces(ctx context.Context, ids []string) (*SpanStream, error) {
	sql := `SELECT ` + spanColumns + `
FROM ` + r.spans + `
WHERE ` + r.inTraceWindows() + spansOrder
	return r.openSpans(ctx, sql, clickhouse.Named("ids", clickhouse.GroupSet{Value: anySlice(ids)}), clickhouse.Named("idList", ids))
}

// traceExtent is what the trace-id lookup knows of one trace.
type traceExtent struct {
	// start and end are the first and last span starts, in whole seconds.
	start, end time.Time
	services   []string
	// spans is how many spans were stored.
	spans uint64
	// events and links are false when no span has any; rows written
	// before the lookup kept them (migration 13) say true.
	events, links bool
}

// lookupTrace reads what the trace-id lookup knows of traceID; found is
// false when it knows nothing. The lookup's rows are aggregated here, not
// by the engine: unmerged rows of one trace are few, and aggregating them
// in the query took ~0.6 ms more engine time than reading them
// (docs/benchmarks.md).
func (r *Reader) lookupTrace(ctx context.Context, traceID string) (e traceExtent, found bool, err error) {
	services := map[string]bool{}
	err = r.each(ctx, "trace lookup", `SELECT Start, End, Services, SpanCount, HasEvents, HasLinks
FROM `+r.traceTimes+` WHERE TraceId = @id`, []driver.NamedValue{clickhouse.Named("id", traceID)},
		func(rows driver.Rows) error {
			var (
				start, end    time.Time
				svcs          []string
				spans         uint64
				events, links uint8
			)
			if err := rows.Scan(&start, &end, &svcs, &spans, &events, &links); err != nil {
				return err
			}
			if !found || start.Before(e.start) {
				e.start = start
			}
			if !found || end.After(e.end) {
				e.end = end
			}
			found = true
			for _, s := range svcs {
				services[s] = true
			}
			e.spans += spans
			e.events, e.links = e.events || events != 0, e.links || links != 0
			return nil
		})
	e.services = sortedSet(services)
	return e, found && len(e.services) > 0, err
}

// inTraceExtent restricts a span read to a traceExtent bound as
// @services, @start and @end.
var inTraceExtent = inTraceRange("ServiceName IN @services", ns("start"), ns("end"))

// OpenTraceSpans queries the spans of traceID in the range the lookup
// table knows for it (see Trace), reading events and links only when a
// span has some. Two round trips: the lookup, then the spans; the second
// costs about what planning the lookup as a subquery did, and knowing
// the lookup first lets the read leave columns out (docs/benchmarks.md).
// A trace the lookup does not know is an empty stream.
func (r *Reader) OpenTraceSpans(ctx context.Context, traceID string) (*SpanStream, error) {
	e, found, err := r.lookupTrace(ctx, traceID)
	if err != nil {
		return nil, err
	}
	if !found {
		return &SpanStream{r: r}, nil
	}
	cols := spanCoreColumns
	if e.events {
		cols += spanEventColumns
	}
	if e.links {
		cols += spanLinkColumns
	}
	sql := `SELECT ` + cols + `
FROM ` + r.spans + `
WHERE TenantId = @tenant AND TraceId = @id` + inTraceExtent + spansOrder + lookedUpTraceSettings
	args := append(windowArgs(Window{Start: e.start, End: e.end.Add(time.Second)}),
		clickhouse.Named("id", traceID), clickhouse.Named("idList", []string{traceID}),
		clickhouse.Named("services", clickhouse.GroupSet{Value: anySlice(e.services)}))
	st, err := r.openSpans(ctx, sql, args...)
	if st != nil {
		st.sc.noEvents, st.sc.noLinks, st.sc.stored = !e.events, !e.links, e.spans
	}
	return st, err
}

func (r *Reader) openSpans(ctx context.Context, sql string, args ...driver.NamedValue) (*SpanStream, error) {
	rows, err := r.query(ctx, "spans", sql, args...)
	if err != nil {
		return nil, err
	}
	return &SpanStream{r: r, rows: rows}, nil
}

// StoredSpans is how many spans the trace-id lookup counts for the trace
// of a single-trace stream that has ended, when that is more than the
// stream returned: some have expired or been lost since. 0 otherwise, and
// when unknown: reads without the lookup, and stores that hold spans of
// a tenant other than the reader's. The lookup has no tenant column, so
// its count would then include theirs, and a tenant that stored a span
// under another's trace id would be told how many that one holds (and
// that its own were lost). Whether the store holds other tenants is asked
// only when the count is more, which is rare.
func (s *SpanStream) StoredSpans(ctx context.Context) (uint64, error) {
	if s.sc.stored <= s.sum.spans {
		return 0, nil
	}
	alone, err := s.r.tenantAlone(ctx)
	if err != nil || !alone {
		return 0, err
	}
	return s.sc.stored, nil
}

// tenantAlone reports whether every span stored is the context's
// tenant's. TenantId leads the span table's key, so the read skips every
// granule of that tenant alone.
func (r *Reader) tenantAlone(ctx context.Context) (bool, error) {
	alone := true
	err := r.each(ctx, "other tenants", `SELECT 1 FROM `+r.spans+` WHERE TenantId != @tenant LIMIT 1`, nil,
		func(driver.Rows) error {
			alone = false
			return nil
		})
	return alone, err
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// spanScan receives one row of spanColumns.
type spanScan struct {
	traceID, spanID, parentID, traceState, name, kind, service string
	startNs                                                    int64
	duration                                                   uint64
	statusCode, statusMessage                                  string
	attrs, attrTypes, resAttrs, resAttrTypes                   map[string]string
	scopeName, scopeVersion                                    string
	eventTimes                                                 []int64
	eventNames                                                 []string
	eventAttrs                                                 []map[string]string
	linkTraceIDs, linkSpanIDs, linkStates                      []string
	linkAttrs                                                  []map[string]string
	schema.Serverless
	// noEvents, noLinks: the query leaves out spanEventColumns or
	// spanLinkColumns, as no span has any (their slices stay empty).
	noEvents, noLinks bool
	// stored is the lookup's span count (see SpanStream.StoredSpans).
	stored uint64
	dest   []any // the scan targets, built once
}

func (s *spanScan) scan(rows driver.Rows) error {
	if s.dest == nil {
		s.dest = []any{&s.traceID, &s.spanID, &s.parentID, &s.traceState, &s.name, &s.kind, &s.service,
			&s.startNs, &s.duration, &s.statusCode, &s.statusMessage,
			&s.attrs, &s.attrTypes, &s.resAttrs, &s.resAttrTypes,
			&s.scopeName, &s.scopeVersion}
		if !s.noEvents {
			s.dest = append(s.dest, &s.eventTimes, &s.eventNames, &s.eventAttrs)
		}
		if !s.noLinks {
			s.dest = append(s.dest, &s.linkTraceIDs, &s.linkSpanIDs, &s.linkStates, &s.linkAttrs)
		}
	}
	if err := rows.Scan(s.dest...); err != nil {
		return err
	}
	s.Serverless = schema.ServerlessOf(schema.AttributeMaps{Values: s.attrs, Types: s.attrTypes},
		schema.FunctionOf(schema.AttributeMaps{Values: s.resAttrs, Types: s.resAttrTypes}))
	return nil
}

// fill turns a scanned row into sp, with offsets from traceStartNs.
func (r *Reader) fill(sp *api.Span, s *spanScan, traceStartNs int64) {
	*sp = api.Span{
		TraceID: s.traceID, SpanID: s.spanID, ParentSpanID: s.parentID, TraceState: s.traceState,
		Name: s.name, Kind: Kind(s.kind), Service: s.service,
		StartTimeUnixNano: s.startNs, StartTime: unixNano(s.startNs),
		OffsetNano: s.startNs - traceStartNs, DurationNano: s.duration,
		Status:     api.SpanStatus{Code: StatusCode(s.statusCode), Message: s.statusMessage},
		Attributes: attributes(s.attrs, s.attrTypes),
		Resource:   api.Resource{Attributes: attributes(s.resAttrs, s.resAttrTypes)},
		Scope:      api.Scope{Name: s.scopeName, Version: s.scopeVersion},
		Events:     make([]api.Event, len(s.eventNames)),
		Links:      make([]api.Link, len(s.linkSpanIDs)),
	}
	for i := range sp.Events {
		e := api.Event{Name: s.eventNames[i]}
		if i < len(s.eventTimes) {
			e.TimeUnixNano, e.Time = s.eventTimes[i], unixNano(s.eventTimes[i])
		}
		if i < len(s.eventAttrs) {
			e.Attributes = attributes(s.eventAttrs[i], nil)
		} else {
			e.Attributes = []api.Attribute{}
		}
		sp.Events[i] = e
	}
	for i := range sp.Links {
		l := api.Link{SpanID: s.linkSpanIDs[i], Attributes: []api.Attribute{}}
		if i < len(s.linkTraceIDs) {
			l.TraceID = s.linkTraceIDs[i]
		}
		if i < len(s.linkStates) {
			l.TraceState = s.linkStates[i]
		}
		if i < len(s.linkAttrs) {
			l.Attributes = attributes(s.linkAttrs[i], nil)
		}
		sp.Links[i] = l
	}
	if s.IsInvocation {
		inv := &api.Invocation{
			Function: s.Name, Version: s.Version, Instance: s.Instance, Trigger: s.Trigger,
			ColdStart: s.ColdStart, ErrorType: s.ErrorType,
			InitDurationNano:   uint64(s.InitDurationMs * float64(time.Millisecond)),
			BilledDurationNano: s.BilledDurationMs * uint64(time.Millisecond),
			MaxMemoryUsedBytes: s.MaxMemoryUsedBytes, MemoryLimitBytes: s.MemoryLimitBytes,
			TimeoutNano: s.TimeoutMs * uint64(time.Millisecond),
		}
		var requests uint64
		if s.ErrorType != schema.ErrorThrottled {
			requests = 1
		}
		inv.CostUSD = r.cost(float64(s.BilledDurationMs*s.MemoryLimitBytes)/gbSecondsDivisor, requests).TotalUSD
		sp.Faas = inv
	}
}

// Kind normalises a stored span kind ("Server", or "SPAN_KIND_SERVER" as
// some exporter versions wrote it) to the API's form ("server").
func Kind(stored string) string {
	k := strings.TrimPrefix(strings.ToLower(stored), "span_kind_")
	switch k {
	case api.KindInternal, api.KindServer, api.KindClient, api.KindProducer, api.KindConsumer:
		return k
	}
	return api.KindUnspecified
}

// StatusCode normalises a stored status code ("Error", "STATUS_CODE_ERROR")
// to the API's form ("error").
func StatusCode(stored string) string {
	c := strings.TrimPrefix(strings.ToLower(stored), "status_code_")
	switch c {
	case api.StatusOK, api.StatusError:
		return c
	}
	return api.StatusUnset
}
