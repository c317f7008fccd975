package ingest

import (
	"fmt"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// nativeBlock encodes rows as one block of ClickHouse's Native format with
// ch-go's typed columns. clickhouse-go's batch API appends every map key
// and value through an interface and a dictionary lookup; this costs a
// fraction of that (see the benchmark in native_test.go), and the bytes go
// to ClickHouse through clickhouse-go's InsertFormat.
type nativeBlock struct {
	timestamp                       *proto.ColDateTime64
	traceID, spanID, parentSpanID   *proto.ColStr
	traceState                      *proto.ColStr
	spanName, spanKind, serviceName *proto.ColLowCardinality[string]
	resourceAttrs                   *attrColumn
	scopeName, scopeVersion         *proto.ColStr
	spanAttrs                       *attrColumn
	duration                        *proto.ColUInt64
	statusCode                      *proto.ColLowCardinality[string]
	statusMessage                   *proto.ColStr
	eventsTimestamp                 *proto.ColArr[timeValue]
	eventsName                      *proto.ColArr[string]
	eventsAttrs                     *attrArrayColumn
	linksTraceID, linksSpanID       *proto.ColArr[string]
	linksTraceState                 *proto.ColArr[string]
	linksAttrs                      *attrArrayColumn
	tenantID, functionName          *proto.ColLowCardinality[string]
	functionVersion                 *proto.ColLowCardinality[string]
	faasInstance                    *proto.ColStr
	faasTrigger                     *proto.ColLowCardinality[string]
	isInvocation, coldStart         *proto.ColBool
	errorType                       *proto.ColLowCardinality[string]
	initDurationMs                  *proto.ColFloat64
	billedDurationMs, maxMemoryUsed *proto.ColUInt64
	memoryLimit, timeoutMs          *proto.ColUInt64
	spanAttrTypes, resAttrTypes     *attrColumn
}

type timeValue = proto.DateTime64

func newNativeBlock() *nativeBlock {
	lc := func() *proto.ColLowCardinality[string] { return new(proto.ColStr).LowCardinality() }
	return &nativeBlock{
		timestamp:        new(proto.ColDateTime64).WithPrecision(proto.PrecisionNano),
		traceID:          new(proto.ColStr),
		spanID:           new(proto.ColStr),
		parentSpanID:     new(proto.ColStr),
		traceState:       new(proto.ColStr),
		spanName:         lc(),
		spanKind:         lc(),
		serviceName:      lc(),
		resourceAttrs:    newAttrColumn(false),
		scopeName:        new(proto.ColStr),
		scopeVersion:     new(proto.ColStr),
		spanAttrs:        newAttrColumn(false),
		duration:         new(proto.ColUInt64),
		statusCode:       lc(),
		statusMessage:    new(proto.ColStr),
		eventsTimestamp:  proto.NewArray[timeValue](new(proto.ColDateTime64).WithPrecision(proto.PrecisionNano).Raw()),
		eventsName:       lc().Array(),
		eventsAttrs:      newAttrArrayColumn(),
		linksTraceID:     new(proto.ColStr).Array(),
		linksSpanID:      new(proto.ColStr).Array(),
		linksTraceState:  new(proto.ColStr).Array(),
		linksAttrs:       newAttrArrayColumn(),
		tenantID:         lc(),
		functionName:     lc(),
		functionVersion:  lc(),
		faasInstance:     new(proto.ColStr),
		faasTrigger:      lc(),
		isInvocation:     new(proto.ColBool),
		coldStart:        new(proto.ColBool),
		errorType:        lc(),
		initDurationMs:   new(proto.ColFloat64),
		billedDurationMs: new(proto.ColUInt64),
		maxMemoryUsed:    new(proto.ColUInt64),
		memoryLimit:      new(proto.ColUInt64),
		timeoutMs:        new(proto.ColUInt64),
		spanAttrTypes:    newAttrColumn(true),
		resAttrTypes:     newAttrColumn(true),
	}
}

// input lists the columns in schema.InsertColumns order.
func (b *nativeBlock) input() proto.Input {
	cols := []proto.ColInput{
		b.timestamp, b.traceID, b.spanID, b.parentSpanID, b.traceState,
		b.spanName, b.spanKind, b.serviceName, b.resourceAttrs.col,
		b.scopeName, b.scopeVersion, b.spanAttrs.col, b.duration,
		b.statusCode, b.statusMessage,
		b.eventsTimestamp, b.eventsName, b.eventsAttrs.col,
		b.linksTraceID, b.linksSpanID, b.linksTraceState, b.linksAttrs.col,
		b.tenantID, b.functionName, b.functionVersion, b.faasInstance, b.faasTrigger,
		b.isInvocation, b.coldStart, b.errorType, b.initDurationMs,
		b.billedDurationMs, b.maxMemoryUsed, b.memoryLimit, b.timeoutMs,
		b.spanAttrTypes.col, b.resAttrTypes.col,
	}
	in := make(proto.Input, len(cols))
	for i, c := range cols {
		in[i] = proto.InputColumn{Name: schema.InsertColumns[i], Data: c}
	}
	return in
}

func (b *nativeBlock) append(r *rows) {
	for _, t := range r.timestamp {
		b.timestamp.AppendRaw(proto.DateTime64(t.UnixNano()))
	}
	b.traceID.AppendArr(r.traceID)
	b.spanID.AppendArr(r.spanID)
	b.parentSpanID.AppendArr(r.parentSpanID)
	b.traceState.AppendArr(r.traceState)
	b.spanName.AppendArr(r.spanName)
	b.spanKind.AppendArr(r.spanKind)
	b.serviceName.AppendArr(r.serviceName)
	b.resourceAttrs.appendAll(r.resourceAttrs)
	b.scopeName.AppendArr(r.scopeName)
	b.scopeVersion.AppendArr(r.scopeVersion)
	b.spanAttrs.appendAll(r.spanAttrs)
	b.duration.AppendArr(r.duration)
	b.statusCode.AppendArr(r.statusCode)
	b.statusMessage.AppendArr(r.statusMessage)
	for i := range r.eventsTimestamp {
		ts := make([]timeValue, len(r.eventsTimestamp[i]))
		for j, t := range r.eventsTimestamp[i] {
			ts[j] = proto.DateTime64(t.UnixNano())
		}
		b.eventsTimestamp.Append(ts)
		b.eventsName.Append(r.eventsName[i])
		b.eventsAttrs.append(r.eventsAttrs[i])
	}
	for i := range r.linksTraceID {
		b.linksTraceID.Append(r.linksTraceID[i])
		b.linksSpanID.Append(r.linksSpanID[i])
		b.linksTraceState.Append(r.linksTraceState[i])
		b.linksAttrs.append(r.linksAttrs[i])
	}
	b.tenantID.AppendArr(r.tenantID)
	b.functionName.AppendArr(r.functionName)
	b.functionVersion.AppendArr(r.functionVersion)
	b.faasInstance.AppendArr(r.faasInstance)
	b.faasTrigger.AppendArr(r.faasTrigger)
	b.isInvocation.AppendArr(r.isInvocation)
	b.coldStart.AppendArr(r.coldStart)
	b.errorType.AppendArr(r.errorType)
	b.initDurationMs.AppendArr(r.initDurationMs)
	b.billedDurationMs.AppendArr(r.billedDurationMs)
	b.maxMemoryUsed.AppendArr(r.maxMemoryUsed)
	b.memoryLimit.AppendArr(r.memoryLimit)
	b.timeoutMs.AppendArr(r.timeoutMs)
	b.spanAttrTypes.appendAll(r.spanAttrTypes)
	b.resAttrTypes.appendAll(r.resAttrTypes)
}

// encodeNative returns blocks as Native data, in the revision-0 framing an
// HTTP INSERT … FORMAT Native body uses.
func encodeNative(blocks []*rows) ([]byte, error) {
	nb := newNativeBlock()
	n := 0
	for _, r := range blocks {
		nb.append(r)
		n += r.len()
	}
	var buf proto.Buffer
	in := nb.input()
	if err := (proto.Block{Columns: len(in), Rows: n}).EncodeRawBlock(&buf, 0, in); err != nil {
		return nil, fmt.Errorf("encode native block: %w", err)
	}
	return buf.Buf, nil
}

// attrColumn is a Map(LowCardinality(String), String) column (or, for
// attribute types, Map(LowCardinality(String), LowCardinality(String)))
// filled straight from attrMaps.
type attrColumn struct {
	col  *proto.ColMap[string, string]
	keys *proto.ColLowCardinality[string]
	vals proto.ColumnOf[string]
}

func newAttrColumn(lowCardinalityValues bool) *attrColumn {
	keys := new(proto.ColStr).LowCardinality()
	var vals proto.ColumnOf[string] = new(proto.ColStr)
	if lowCardinalityValues {
		vals = new(proto.ColStr).LowCardinality()
	}
	return &attrColumn{col: proto.NewMap[string, string](keys, vals), keys: keys, vals: vals}
}

func (c *attrColumn) append(m *attrMap) {
	c.keys.AppendArr(m.keys)
	c.vals.AppendArr(m.values)
	c.col.Offsets.Append(uint64(c.keys.Rows()))
}

func (c *attrColumn) appendAll(ms []*attrMap) {
	for _, m := range ms {
		c.append(m)
	}
}

// attrArrayColumn is Array(Map(LowCardinality(String), String)).
type attrArrayColumn struct {
	col   *proto.ColArr[map[string]string]
	inner *attrColumn
}

func newAttrArrayColumn() *attrArrayColumn {
	inner := newAttrColumn(false)
	return &attrArrayColumn{col: proto.NewArray[map[string]string](inner.col), inner: inner}
}

func (c *attrArrayColumn) append(ms []*attrMap) {
	c.inner.appendAll(ms)
	c.col.Offsets.Append(uint64(c.inner.col.Rows()))
}
