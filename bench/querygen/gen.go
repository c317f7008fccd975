package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
)

// batch is spans in column form, in schema.InsertColumns order.
type batch struct {
	ts                                    []time.Time
	traceID, spanID, parentID, traceState []string
	name, kind, service                   []string
	resAttrs                              []map[string]string
	scopeName, scopeVersion               []string
	attrs                                 []map[string]string
	duration                              []uint64
	statusCode, statusMessage             []string
	evTs                                  [][]time.Time
	evName                                [][]string
	evAttrs                               [][]map[string]string
	lnTrace, lnSpan, lnState              [][]string
	lnAttrs                               [][]map[string]string
	tenant, function, version, instance   []string
	trigger                               []string
	invocation, cold                      []bool
	errorType                             []string
	initMs                                []float64
	billedMs, maxMem, memLimit, timeoutMs []uint64
	attrTypes, resTypes                   []map[string]string
}

func (b *batch) columns() []any {
	return []any{b.ts, b.traceID, b.spanID, b.parentID, b.traceState, b.name, b.kind, b.service, b.resAttrs,
		b.scopeName, b.scopeVersion, b.attrs, b.duration, b.statusCode, b.statusMessage,
		b.evTs, b.evName, b.evAttrs, b.lnTrace, b.lnSpan, b.lnState, b.lnAttrs,
		b.tenant, b.function, b.version, b.instance, b.trigger, b.invocation, b.cold, b.errorType, b.initMs,
		b.billedMs, b.maxMem, b.memLimit, b.timeoutMs, b.attrTypes, b.resTypes}
}

func (b *batch) len() int { return len(b.ts) }

// span is one generated span.
type span struct {
	start                   time.Time
	traceID, spanID, parent string
	name, kind, service     string
	res                     *resource
	attrs, types            map[string]string
	duration                time.Duration
	status, message         string
	fn                      *function
	invocation, cold        bool
	errorType               string
	initMs                  float64
	billedMs, maxMem        uint64
}

type resource struct {
	attrs, types map[string]string
}

type function struct {
	name, version string
	memory        uint64
	timeoutMs     uint64
	res           []*resource // one per instance
	ops           []string
	meanMs        float64
}

var empty = map[string]string{}

func (b *batch) add(s *span) {
	b.ts = append(b.ts, s.start)
	b.traceID = append(b.traceID, s.traceID)
	b.spanID = append(b.spanID, s.spanID)
	b.parentID = append(b.parentID, s.parent)
	b.traceState = append(b.traceState, "")
	b.name = append(b.name, s.name)
	b.kind = append(b.kind, s.kind)
	b.service = append(b.service, s.service)
	b.resAttrs = append(b.resAttrs, s.res.attrs)
	b.scopeName = append(b.scopeName, "bench")
	b.scopeVersion = append(b.scopeVersion, "1.0.0")
	b.attrs = append(b.attrs, s.attrs)
	b.duration = append(b.duration, uint64(s.duration))
	b.statusCode = append(b.statusCode, s.status)
	b.statusMessage = append(b.statusMessage, s.message)
	b.evTs = append(b.evTs, nil)
	b.evName = append(b.evName, nil)
	b.evAttrs = append(b.evAttrs, nil)
	b.lnTrace = append(b.lnTrace, nil)
	b.lnSpan = append(b.lnSpan, nil)
	b.lnState = append(b.lnState, nil)
	b.lnAttrs = append(b.lnAttrs, nil)
	b.tenant = append(b.tenant, "")
	fnName, version, instance, trigger := "", "", "", ""
	var memLimit, timeoutMs uint64
	if s.fn != nil {
		fnName, version, memLimit = s.fn.name, s.fn.version, s.fn.memory
		instance = s.res.attrs["faas.instance"]
		if s.invocation {
			trigger, timeoutMs = "http", s.fn.timeoutMs
		}
	}
	b.function = append(b.function, fnName)
	b.version = append(b.version, version)
	b.instance = append(b.instance, instance)
	b.trigger = append(b.trigger, trigger)
	b.invocation = append(b.invocation, s.invocation)
	b.cold = append(b.cold, s.cold)
	b.errorType = append(b.errorType, s.errorType)
	b.initMs = append(b.initMs, s.initMs)
	b.billedMs = append(b.billedMs, s.billedMs)
	b.maxMem = append(b.maxMem, s.maxMem)
	b.memLimit = append(b.memLimit, memLimit)
	b.timeoutMs = append(b.timeoutMs, timeoutMs)
	b.attrTypes = append(b.attrTypes, s.types)
	b.resTypes = append(b.resTypes, s.res.types)
}

// generator makes traces: an API gateway span calls one function's
// invocation span (with an init span on cold starts), whose handler makes
// database and HTTP calls.
type generator struct {
	rng       *rand.Rand
	fns       []*function
	gateway   *resource
	o         options
	now       time.Time
	customers int
}

const instancesPerFunction = 50

func newGenerator(o options) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)), o: o, now: time.Now().Add(o.ahead), customers: 100_000}
	g.gateway = &resource{attrs: map[string]string{"service.name": "api-gateway", "deployment.environment": "bench", "host.name": "gw-1"}, types: empty}
	routes := []string{"/orders", "/orders/{id}", "/users/{id}", "/cart", "/checkout", "/search", "/items/{id}", "/payments"}
	for i := 0; i < o.functions; i++ {
		f := &function{
			name:      fmt.Sprintf("fn-%02d", i),
			version:   strconv.Itoa(1 + i%3),
			memory:    uint64(128<<20) << (i % 4),
			timeoutMs: 3000,
			ops:       []string{"SELECT " + routes[i%len(routes)], "INSERT audit", "GET https://api.example.com" + routes[(i+3)%len(routes)], "redis GET", "s3 PutObject", "sqs SendMessage"},
			meanMs:    20 + float64(i*7%60),
		}
		for j := 0; j < instancesPerFunction; j++ {
			f.res = append(f.res, &resource{
				attrs: map[string]string{
					"service.name": f.name, "faas.name": f.name, "faas.version": f.version,
					"faas.instance": fmt.Sprintf("%s-%s-%04d", f.name, f.version, j), "faas.max_memory": strconv.FormatUint(f.memory, 10),
					"cloud.provider": "coldtrace", "telemetry.sdk.language": "nodejs",
				},
				types: map[string]string{"faas.max_memory": "int"},
			})
		}
		g.fns = append(g.fns, f)
	}
	return g
}

func (g *generator) hex(n int) string {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := g.rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(b)
}

// trace appends one trace starting at start to spans.
func (g *generator) trace(start time.Time, spans []span) []span {
	traceID := g.hex(16)
	fn := g.fns[g.rng.IntN(len(g.fns))]
	res := fn.res[g.rng.IntN(len(fn.res))]
	cold := g.rng.Float64() < g.o.coldRate
	timeout := g.rng.Float64() < g.o.timeouts
	handlerErr := !timeout && g.rng.Float64() < 0.005
	initMs := 0.0
	if cold {
		initMs = 150 + g.rng.ExpFloat64()*150
	}
	work := time.Duration(g.rng.ExpFloat64() * fn.meanMs * float64(time.Millisecond))
	if timeout {
		work = time.Duration(fn.timeoutMs) * time.Millisecond
	}
	invDur := time.Duration(initMs*float64(time.Millisecond)) + work + time.Millisecond
	gwID, invID := g.hex(8), g.hex(8)
	customer := "cust-" + strconv.Itoa(g.rng.IntN(g.customers))
	route := fn.ops[0][len("SELECT "):]
	status := "200"
	gwStatus, invStatus, errType, msg := "Unset", "Unset", "", ""
	if timeout {
		status, gwStatus, invStatus, errType, msg = "504", "Error", "Error", "timeout", "Task timed out after 3.00 seconds"
	} else if handlerErr {
		status, gwStatus, invStatus, errType, msg = "500", "Error", "Error", "handler_error", "TypeError: undefined is not a function"
	}
	spans = append(spans, span{
		start: start, traceID: traceID, spanID: gwID, name: "GET " + route, kind: "Server", service: "api-gateway", res: g.gateway,
		attrs: map[string]string{"http.request.method": "GET", "http.route": route, "http.response.status_code": status, "customer.id": customer},
		types: map[string]string{"http.response.status_code": "int"}, duration: invDur + 2*time.Millisecond, status: gwStatus,
	})
	invStart := start.Add(time.Millisecond)
	billed := uint64(invDur/time.Millisecond) + 1
	attrs := map[string]string{
		"faas.trigger": "http", "faas.invocation_id": g.hex(16), "faas.coldstart": strconv.FormatBool(cold),
		"coldtrace.billed_duration_ms": strconv.FormatUint(billed, 10), "coldtrace.timeout_ms": strconv.FormatUint(fn.timeoutMs, 10),
		"coldtrace.max_memory_used_bytes": strconv.FormatUint(fn.memory/4+uint64(g.rng.IntN(int(fn.memory/4))), 10), "customer.id": customer,
	}
	types := map[string]string{"faas.coldstart": "bool", "coldtrace.billed_duration_ms": "int", "coldtrace.timeout_ms": "int", "coldtrace.max_memory_used_bytes": "int"}
	if cold {
		attrs["coldtrace.init_duration_ms"] = strconv.FormatFloat(initMs, 'f', 3, 64)
		types["coldtrace.init_duration_ms"] = "double"
	}
	if errType != "" {
		attrs["error.type"] = errType
	}
	maxMem, _ := strconv.ParseUint(attrs["coldtrace.max_memory_used_bytes"], 10, 64)
	spans = append(spans, span{
		start: invStart, traceID: traceID, spanID: invID, parent: gwID, name: fn.name, kind: "Server", service: fn.name, res: res,
		attrs: attrs, types: types, duration: invDur, status: invStatus, message: msg, fn: fn, invocation: true, cold: cold,
		errorType: errType, initMs: initMs, billedMs: billed, maxMem: maxMem,
	})
	t := invStart
	if cold {
		d := time.Duration(initMs * float64(time.Millisecond))
		spans = append(spans, span{start: t, traceID: traceID, spanID: g.hex(8), parent: invID, name: "init", kind: "Internal",
			service: fn.name, res: res, attrs: empty, types: empty, duration: d, status: "Unset", fn: fn})
		t = t.Add(d)
	}
	// Eight calls share the handler's work.
	step := work / 8
	for i := 0; i < 8; i++ {
		op := fn.ops[i%len(fn.ops)]
		a := map[string]string{"db.system": "postgresql", "db.statement": op + " WHERE id = $1", "customer.id": customer}
		if strings.HasPrefix(op, "GET ") {
			a = map[string]string{"http.request.method": "GET", "url.full": op[4:], "http.response.status_code": "200"}
		}
		spans = append(spans, span{start: t, traceID: traceID, spanID: g.hex(8), parent: invID, name: op, kind: "Client",
			service: fn.name, res: res, attrs: a, types: empty, duration: step * 9 / 10, status: "Unset", fn: fn})
		t = t.Add(step)
	}
	return spans
}

// Sample is a trace kept to query by id.
type Sample struct {
	TraceID string
	Start   time.Time
}

func load(ctx context.Context, client *chclient.Client, so schema.Options, o options) error {
	g := newGenerator(o)
	traces := o.spans / 10
	// Trace starts spread over the time span, inserted in time order.
	starts := make([]int64, traces)
	for i := range starts {
		starts[i] = g.rng.Int64N(int64(o.span))
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] > starts[j] })
	cols := make([]string, len(schema.InsertColumns))
	for i, c := range schema.InsertColumns {
		cols[i] = "`" + c + "`"
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s)", so.Table(schema.TracesTable), strings.Join(cols, ", "))
	began := time.Now()
	var (
		spans []span
		total int
	)
	flush := func() error {
		b := &batch{}
		for i := range spans {
			b.add(&spans[i])
		}
		ib, err := client.PrepareBatch(ctx, insert)
		if err != nil {
			return err
		}
		for i, col := range b.columns() {
			if err := ib.Column(i).Append(col); err != nil {
				return fmt.Errorf("column %s: %w", schema.InsertColumns[i], err)
			}
		}
		if err := ib.Send(); err != nil {
			return err
		}
		total += len(spans)
		spans = spans[:0]
		el := time.Since(began)
		fmt.Fprintf(os.Stderr, "\rloaded %d spans (%.0f spans/s)", total, float64(total)/el.Seconds())
		return nil
	}
	for _, off := range starts {
		spans = g.trace(g.now.Add(-time.Duration(off)), spans)
		if len(spans) >= o.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(spans) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "\nloaded %d spans, %d traces in %v\n", total, traces, time.Since(began).Round(time.Second))
	// Merge parts, as a running system's background merges would.
	optStart := time.Now()
	for _, t := range []string{schema.TracesTable, schema.TraceIDLookupTable, schema.FunctionStatsTable} {
		if err := client.Exec(ctx, "OPTIMIZE TABLE "+so.Table(t)+" FINAL"); err != nil {
			return fmt.Errorf("optimize %s: %w", t, err)
		}
	}
	fmt.Fprintf(os.Stderr, "merged in %v\n", time.Since(optStart).Round(time.Second))
	return nil
}
