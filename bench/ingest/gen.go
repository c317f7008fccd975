package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// shape builds the spans of one request.
type shape interface {
	name() string
	// fill appends about n spans to td, starting at t.
	fill(td ptrace.Traces, rng *rand.Rand, n int, t time.Time)
}

// request is a prebuilt OTLP request: the protobuf bytes and the data.
type request struct {
	proto []byte
	td    ptrace.Traces
	spans int
}

// generate prebuilds requests of about spansPer spans until total spans.
// Every span gets unique ids; timestamps are spread over the last minute.
func generate(s shape, seed uint64, total, spansPer int) []request {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []request
	now := time.Now()
	for made := 0; made < total; {
		td := ptrace.NewTraces()
		s.fill(td, rng, spansPer, now.Add(-time.Duration(rng.Int64N(int64(time.Minute)))))
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			panic(err)
		}
		out = append(out, request{proto: b, td: td, spans: td.SpanCount()})
		made += td.SpanCount()
	}
	return out
}

func traceID(rng *rand.Rand) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	return id
}

func spanID(rng *rand.Rand) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], rng.Uint64()|1)
	return id
}

func uuid(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0xfff, b&0xffffffffffff)
}

// faasShape is one serverless function's traffic: each invocation is a
// SERVER span with the span contract's attributes (DESIGN.md), three
// child spans the handler makes, and an init span on a cold start (1%).
// Every span carries about 15 attributes.
type faasShape struct{ functions int }

func (faasShape) name() string { return "FaaS-shaped" }

var routes = []string{"/cart", "/cart/items", "/checkout", "/orders/{id}", "/users/{id}", "/search", "/health", "/payments"}

func (f faasShape) fill(td ptrace.Traces, rng *rand.Rand, n int, t time.Time) {
	fn := rng.IntN(f.functions)
	name := fmt.Sprintf("fn-%02d", fn)
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", name)
	ra.PutStr("faas.name", name)
	ra.PutStr("faas.version", fmt.Sprint(1+fn%3))
	ra.PutStr("faas.instance", fmt.Sprintf("%s-%08x", name, rng.Uint32()%16))
	ra.PutInt("faas.max_memory", int64(128<<(fn%4))<<20)
	ra.PutStr("cloud.provider", "coldtrace")
	ra.PutStr("cloud.region", "local-1")
	ra.PutStr("process.runtime.name", "nodejs")
	ra.PutStr("process.runtime.version", "20.20.2")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutStr("telemetry.sdk.version", "1.47.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("coldtrace/runtime")
	ss.Scope().SetVersion("0.1.0")
	spans := ss.Spans()
	for spans.Len() < n {
		tid := traceID(rng)
		inv := spans.AppendEmpty()
		inv.SetTraceID(tid)
		inv.SetSpanID(spanID(rng))
		inv.SetName(name)
		inv.SetKind(ptrace.SpanKindServer)
		start := t.Add(time.Duration(rng.Int64N(int64(time.Second))))
		dur := time.Duration(2+rng.ExpFloat64()*40) * time.Millisecond
		cold := rng.IntN(100) == 0
		timeout := rng.IntN(500) == 0
		route := routes[rng.IntN(len(routes))]
		a := inv.Attributes()
		a.PutStr("faas.trigger", "http")
		a.PutStr("faas.invocation_id", uuid(rng))
		a.PutBool("faas.coldstart", cold)
		a.PutInt("coldtrace.billed_duration_ms", int64(dur/time.Millisecond)+1)
		a.PutInt("coldtrace.max_memory_used_bytes", int64(40+rng.IntN(20))<<20)
		a.PutInt("coldtrace.timeout_ms", 3000)
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", route)
		a.PutStr("url.path", route)
		a.PutStr("url.scheme", "http")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
		a.PutStr("client.address", fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(250)))
		a.PutStr("server.address", "127.0.0.1")
		a.PutStr("network.protocol.version", "1.1")
		if cold {
			init := time.Duration(30+rng.IntN(120)) * time.Millisecond
			a.PutDouble("coldtrace.init_duration_ms", float64(init)/1e6)
			is := spans.AppendEmpty()
			is.SetTraceID(tid)
			is.SetSpanID(spanID(rng))
			is.SetParentSpanID(inv.SpanID())
			is.SetName("init")
			is.SetKind(ptrace.SpanKindInternal)
			is.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(-init)))
			is.SetEndTimestamp(pcommon.NewTimestampFromTime(start))
			is.Attributes().PutStr("faas.name", name)
		}
		if timeout {
			a.PutStr("error.type", "timeout")
			inv.Status().SetCode(ptrace.StatusCodeError)
			inv.Status().SetMessage("Task timed out after 3.00 seconds")
			dur = 3 * time.Second
		}
		inv.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		inv.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(dur)))
		for c := 0; c < 3; c++ {
			ch := spans.AppendEmpty()
			ch.SetTraceID(tid)
			ch.SetSpanID(spanID(rng))
			ch.SetParentSpanID(inv.SpanID())
			ch.SetKind(ptrace.SpanKindClient)
			cs := start.Add(dur * time.Duration(c) / 4)
			ch.SetStartTimestamp(pcommon.NewTimestampFromTime(cs))
			ch.SetEndTimestamp(pcommon.NewTimestampFromTime(cs.Add(dur / 5)))
			ca := ch.Attributes()
			if c == 1 {
				ch.SetName("GET api.internal")
				ca.PutStr("http.request.method", "GET")
				ca.PutStr("url.full", "http://api.internal:8080/v1/items/"+fmt.Sprint(rng.IntN(1000)))
				ca.PutStr("server.address", "api.internal")
				ca.PutInt("server.port", 8080)
				ca.PutInt("http.response.status_code", 200)
				ca.PutStr("network.protocol.version", "1.1")
				ca.PutStr("network.peer.address", "10.1.0.7")
				ca.PutInt("http.request.body.size", int64(rng.IntN(2000)))
				ca.PutInt("http.response.body.size", int64(rng.IntN(20000)))
				ca.PutStr("peer.service", "inventory")
				ca.PutStr("user_agent.original", "node-fetch/3.3")
				ca.PutStr("url.scheme", "http")
				ca.PutStr("http.route", "/v1/items/{id}")
				ca.PutStr("thread.name", "main")
				ca.PutInt("thread.id", 1)
				continue
			}
			ch.SetName("SELECT orders")
			ca.PutStr("db.system.name", "postgresql")
			ca.PutStr("db.namespace", "shop")
			ca.PutStr("db.operation.name", "SELECT")
			ca.PutStr("db.collection.name", "orders")
			ca.PutStr("db.query.text", "SELECT id, total FROM orders WHERE user_id = $1 LIMIT 20")
			ca.PutStr("server.address", "db.internal")
			ca.PutInt("server.port", 5432)
			ca.PutStr("network.peer.address", "10.1.0.9")
			ca.PutInt("network.peer.port", 5432)
			ca.PutStr("network.transport", "tcp")
			ca.PutInt("db.response.returned_rows", int64(rng.IntN(20)))
			ca.PutStr("db.client.connection.pool.name", "main")
			ca.PutStr("peer.service", "postgres")
			ca.PutStr("thread.name", "main")
			ca.PutInt("thread.id", 1)
		}
	}
}

// telemetrygenShape is what `telemetrygen traces` sends: traces of a
// "lets-go" CLIENT span and an "okey-dokey-0" SERVER child, a few
// attributes each, resource service.name=telemetrygen.
type telemetrygenShape struct{}

func (telemetrygenShape) name() string { return "telemetrygen-shaped" }

func (telemetrygenShape) fill(td ptrace.Traces, rng *rand.Rand, n int, t time.Time) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "telemetrygen")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	spans := ss.Spans()
	for spans.Len() < n {
		tid := traceID(rng)
		start := t.Add(time.Duration(rng.Int64N(int64(time.Second))))
		parent := spans.AppendEmpty()
		parent.SetTraceID(tid)
		parent.SetSpanID(spanID(rng))
		parent.SetName("lets-go")
		parent.SetKind(ptrace.SpanKindClient)
		parent.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		parent.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(123 * time.Microsecond)))
		parent.Attributes().PutStr("network.peer.address", "1.2.3.4")
		parent.Attributes().PutStr("peer.service", "telemetrygen-server")
		child := spans.AppendEmpty()
		child.SetTraceID(tid)
		child.SetSpanID(spanID(rng))
		child.SetParentSpanID(parent.SpanID())
		child.SetName("okey-dokey-0")
		child.SetKind(ptrace.SpanKindServer)
		child.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		child.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(123 * time.Microsecond)))
		child.Attributes().PutStr("network.peer.address", "1.2.3.4")
		child.Attributes().PutStr("peer.service", "telemetrygen-client")
	}
}
