package ingest

import (
	"encoding/hex"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// Limits bound what one span may carry. Over a limit, the extra
// attributes, events or links are dropped and values are cut; the span is
// kept and the truncation counted. Zero means no limit.
type Limits struct {
	MaxAttributes  int `yaml:"max_attributes"`
	MaxValueLength int `yaml:"max_value_length"`
	MaxEvents      int `yaml:"max_events"`
	MaxLinks       int `yaml:"max_links"`
}

// rows is a block of spans in column form, in schema.InsertColumns order.
type rows struct {
	timestamp                       []time.Time
	traceID, spanID, parentSpanID   []string
	traceState                      []string
	spanName, spanKind, serviceName []string
	resourceAttrs                   []*attrMap
	scopeName, scopeVersion         []string
	spanAttrs                       []*attrMap
	duration                        []uint64
	statusCode, statusMessage       []string
	eventsTimestamp                 [][]time.Time
	eventsName                      [][]string
	eventsAttrs                     [][]*attrMap
	linksTraceID, linksSpanID       [][]string
	linksTraceState                 [][]string
	linksAttrs                      [][]*attrMap
	tenantID                        []string
	functionName, functionVersion   []string
	faasInstance, faasTrigger       []string
	isInvocation, coldStart         []bool
	errorType                       []string
	initDurationMs                  []float64
	billedDurationMs, maxMemoryUsed []uint64
	memoryLimit, timeoutMs          []uint64
	spanAttrTypes, resAttrTypes     []*attrMap

	// truncated counts attributes, events and links dropped or cut.
	truncated int64
}

func (r *rows) len() int { return len(r.timestamp) }

// columns returns the column slices in schema.InsertColumns order.
func (r *rows) columns() []any {
	return []any{
		r.timestamp, r.traceID, r.spanID, r.parentSpanID, r.traceState,
		r.spanName, r.spanKind, r.serviceName, r.resourceAttrs,
		r.scopeName, r.scopeVersion, r.spanAttrs, r.duration,
		r.statusCode, r.statusMessage,
		r.eventsTimestamp, r.eventsName, r.eventsAttrs,
		r.linksTraceID, r.linksSpanID, r.linksTraceState, r.linksAttrs,
		r.tenantID, r.functionName, r.functionVersion, r.faasInstance, r.faasTrigger,
		r.isInvocation, r.coldStart, r.errorType, r.initDurationMs,
		r.billedDurationMs, r.maxMemoryUsed, r.memoryLimit, r.timeoutMs,
		r.spanAttrTypes, r.resAttrTypes,
	}
}

func init() {
	if n := len((&rows{}).columns()); n != len(schema.InsertColumns) {
		panic("ingest: rows has " + strconv.Itoa(n) + " columns, schema.InsertColumns " + strconv.Itoa(len(schema.InsertColumns)))
	}
}

// resourceInfo is what every span of one resource shares.
type resourceInfo struct {
	attrs, types *attrMap
	service      string
	function     schema.Function
}

// toRows converts td into rows for tenant, applying limits.
func toRows(td ptrace.Traces, tenant string, lim Limits) *rows {
	n := td.SpanCount()
	r := newRows(n)
	conv := attrConverter{maxAttrs: lim.MaxAttributes, maxValueLen: lim.MaxValueLength}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		ra, rt := conv.convert(res)
		ri := resourceInfo{
			attrs: &ra, types: &rt,
			service:  strAttr(res, schema.AttrServiceName),
			function: schema.FunctionOf(storedAttrs{&ra, &rt}),
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				r.appendSpan(spans.At(k), &ri, scope, tenant, &conv, lim)
			}
		}
	}
	r.truncated = conv.truncated
	return r
}

func newRows(n int) *rows {
	return &rows{
		timestamp: make([]time.Time, 0, n), traceID: make([]string, 0, n), spanID: make([]string, 0, n),
		parentSpanID: make([]string, 0, n), traceState: make([]string, 0, n), spanName: make([]string, 0, n),
		spanKind: make([]string, 0, n), serviceName: make([]string, 0, n), resourceAttrs: make([]*attrMap, 0, n),
		scopeName: make([]string, 0, n), scopeVersion: make([]string, 0, n), spanAttrs: make([]*attrMap, 0, n),
		duration: make([]uint64, 0, n), statusCode: make([]string, 0, n), statusMessage: make([]string, 0, n),
		eventsTimestamp: make([][]time.Time, 0, n), eventsName: make([][]string, 0, n), eventsAttrs: make([][]*attrMap, 0, n),
		linksTraceID: make([][]string, 0, n), linksSpanID: make([][]string, 0, n), linksTraceState: make([][]string, 0, n),
		linksAttrs: make([][]*attrMap, 0, n), tenantID: make([]string, 0, n), functionName: make([]string, 0, n),
		functionVersion: make([]string, 0, n), faasInstance: make([]string, 0, n), faasTrigger: make([]string, 0, n),
		isInvocation: make([]bool, 0, n), coldStart: make([]bool, 0, n), errorType: make([]string, 0, n),
		initDurationMs: make([]float64, 0, n), billedDurationMs: make([]uint64, 0, n), maxMemoryUsed: make([]uint64, 0, n),
		memoryLimit: make([]uint64, 0, n), timeoutMs: make([]uint64, 0, n),
		spanAttrTypes: make([]*attrMap, 0, n), resAttrTypes: make([]*attrMap, 0, n),
	}
}

// storableNanos caps a time at the last nanosecond DateTime64(9) and Go's
// time hold (2262-04-11): OTLP's times are unsigned, and one past it
// wrapped to a negative time (an event read back in 1969, a span's end
// making its trace's duration negative). Span starts are refused past
// 2106 before this (dropUnstorable).
func storableNanos(t pcommon.Timestamp) pcommon.Timestamp {
	return min(t, pcommon.Timestamp(math.MaxInt64))
}

func (r *rows) appendSpan(s ptrace.Span, ri *resourceInfo, scope pcommon.InstrumentationScope, tenant string, conv *attrConverter, lim Limits) {
	start, end := s.StartTimestamp(), storableNanos(s.EndTimestamp())
	var dur uint64
	if end > start {
		dur = uint64(end - start)
	}
	sa, st := conv.convert(s.Attributes())
	status := s.Status()

	r.timestamp = append(r.timestamp, time.Unix(0, int64(start)))
	r.traceID = append(r.traceID, traceIDHex(s.TraceID()))
	r.spanID = append(r.spanID, spanIDHex(s.SpanID()))
	r.parentSpanID = append(r.parentSpanID, spanIDHex(s.ParentSpanID()))
	r.traceState = append(r.traceState, s.TraceState().AsRaw())
	r.spanName = append(r.spanName, s.Name())
	r.spanKind = append(r.spanKind, s.Kind().String())
	r.serviceName = append(r.serviceName, ri.service)
	r.resourceAttrs = append(r.resourceAttrs, ri.attrs)
	r.scopeName = append(r.scopeName, scope.Name())
	r.scopeVersion = append(r.scopeVersion, scope.Version())
	r.spanAttrs = append(r.spanAttrs, &sa)
	r.duration = append(r.duration, dur)
	r.statusCode = append(r.statusCode, status.Code().String())
	r.statusMessage = append(r.statusMessage, status.Message())
	r.appendEvents(s.Events(), conv, lim.MaxEvents)
	r.appendLinks(s.Links(), conv, lim.MaxLinks)

	// The typed columns come from the attributes as stored, as a span
	// read derives them (schema.Serverless).
	sv := schema.ServerlessOf(storedAttrs{&sa, &st}, ri.function)
	r.tenantID = append(r.tenantID, tenant)
	r.functionName = append(r.functionName, sv.Name)
	r.functionVersion = append(r.functionVersion, sv.Version)
	r.faasInstance = append(r.faasInstance, sv.Instance)
	r.faasTrigger = append(r.faasTrigger, sv.Trigger)
	r.isInvocation = append(r.isInvocation, sv.IsInvocation)
	r.coldStart = append(r.coldStart, sv.ColdStart)
	r.errorType = append(r.errorType, sv.ErrorType)
	r.initDurationMs = append(r.initDurationMs, sv.InitDurationMs)
	r.billedDurationMs = append(r.billedDurationMs, sv.BilledDurationMs)
	r.maxMemoryUsed = append(r.maxMemoryUsed, sv.MaxMemoryUsedBytes)
	r.memoryLimit = append(r.memoryLimit, sv.MemoryLimitBytes)
	r.timeoutMs = append(r.timeoutMs, sv.TimeoutMs)
	r.spanAttrTypes = append(r.spanAttrTypes, &st)
	r.resAttrTypes = append(r.resAttrTypes, ri.types)
}

func (r *rows) appendEvents(events ptrace.SpanEventSlice, conv *attrConverter, max int) {
	n := events.Len()
	if max > 0 && n > max {
		conv.truncated += int64(n - max)
		n = max
	}
	if n == 0 {
		r.eventsTimestamp = append(r.eventsTimestamp, nil)
		r.eventsName = append(r.eventsName, nil)
		r.eventsAttrs = append(r.eventsAttrs, nil)
		return
	}
	ts := make([]time.Time, n)
	names := make([]string, n)
	attrs := make([]*attrMap, n)
	for i := 0; i < n; i++ {
		e := events.At(i)
		ts[i] = time.Unix(0, int64(storableNanos(e.Timestamp())))
		names[i] = e.Name()
		a, _ := conv.convert(e.Attributes())
		attrs[i] = &a
	}
	r.eventsTimestamp = append(r.eventsTimestamp, ts)
	r.eventsName = append(r.eventsName, names)
	r.eventsAttrs = append(r.eventsAttrs, attrs)
}

func (r *rows) appendLinks(links ptrace.SpanLinkSlice, conv *attrConverter, max int) {
	n := links.Len()
	if max > 0 && n > max {
		conv.truncated += int64(n - max)
		n = max
	}
	if n == 0 {
		r.linksTraceID = append(r.linksTraceID, nil)
		r.linksSpanID = append(r.linksSpanID, nil)
		r.linksTraceState = append(r.linksTraceState, nil)
		r.linksAttrs = append(r.linksAttrs, nil)
		return
	}
	tids := make([]string, n)
	sids := make([]string, n)
	states := make([]string, n)
	attrs := make([]*attrMap, n)
	for i := 0; i < n; i++ {
		l := links.At(i)
		tids[i] = traceIDHex(l.TraceID())
		sids[i] = spanIDHex(l.SpanID())
		states[i] = l.TraceState().AsRaw()
		a, _ := conv.convert(l.Attributes())
		attrs[i] = &a
	}
	r.linksTraceID = append(r.linksTraceID, tids)
	r.linksSpanID = append(r.linksSpanID, sids)
	r.linksTraceState = append(r.linksTraceState, states)
	r.linksAttrs = append(r.linksAttrs, attrs)
}

func traceIDHex(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func spanIDHex(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func strAttr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}
