package server_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/query/api"
)

// spreadTenant keeps this test's spans away from the fixture's.
const spreadTenant = "spread-day"

// spreadTrace is one trace sent by sendSpreadTraces.
type spreadTrace struct {
	id       string
	start    time.Time
	duration time.Duration
	spans    []string // span ids
	errors   uint64
}

// sendSpreadTraces sends, as spreadTenant, one trace every few hours over
// the last day: an "edge" server span and two "worker" children, the
// first trace's children in the next 15-minute bucket (the primary key's
// time bucket) than its root. Newest first.
func sendSpreadTraces(t *testing.T, addr string) []spreadTrace {
	t.Helper()
	ctx := context.Background()
	edge := tenantProvider(t, addr, spreadTenant, attribute.String("service.name", "edge"))
	worker := tenantProvider(t, addr, spreadTenant, attribute.String("service.name", "worker"))
	var sent []spreadTrace
	for i, ago := range []time.Duration{20 * time.Hour, 9 * time.Hour, 3 * time.Hour, 2 * time.Minute} {
		start := time.Now().Add(-ago)
		if i == 0 { // three minutes before a bucket boundary
			start = start.Truncate(15 * time.Minute).Add(12 * time.Minute)
		}
		st := spreadTrace{start: start, duration: 20 * time.Minute}
		if i != 0 {
			st.duration = time.Duration(i) * time.Second
		}
		rctx, root := edge.Tracer("edge").Start(ctx, "GET /orders", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("order.batch", "nightly")))
		st.id = root.SpanContext().TraceID().String()
		st.spans = append(st.spans, root.SpanContext().SpanID().String())
		for j, at := range []time.Duration{st.duration / 2, st.duration * 9 / 10} {
			_, child := worker.Tracer("worker").Start(rctx, fmt.Sprintf("process %d", j), trace.WithTimestamp(start.Add(at)))
			if i == 2 && j == 1 {
				child.SetStatus(codes.Error, "failed")
				st.errors++
			}
			child.End(trace.WithTimestamp(start.Add(at + time.Millisecond)))
			st.spans = append(st.spans, child.SpanContext().SpanID().String())
		}
		root.End(trace.WithTimestamp(start.Add(st.duration)))
		sent = append([]spreadTrace{st}, sent...)
	}
	for _, tp := range []interface{ Shutdown(context.Context) error }{edge, worker} {
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

// A search whose traces lie hours apart reads each trace's own window
// (reader.sharedWindowSpan): their summaries and their spans through the
// Jaeger API are whole, including a trace whose spans lie in two of the
// primary key's 15-minute buckets.
func testTracesSpreadOverDay(t *testing.T) {
	_, s := setup(t)
	ts := apiServer(t, s)
	sent := sendSpreadTraces(t, s.GRPCAddr)
	window := fmt.Sprintf("start=%d&end=%d", time.Now().Add(-24*time.Hour).UnixNano(), time.Now().Add(time.Hour).UnixNano())

	var found api.TraceSearch
	decode(t, get(t, ts, "/api/v1/traces?attr.order.batch=nightly&"+window, "X-Scope-OrgID", spreadTenant), &found)
	if len(found.Traces) != len(sent) {
		t.Fatalf("%d traces, want %d: %+v", len(found.Traces), len(sent), found.Traces)
	}
	for i, got := range found.Traces {
		want := sent[i]
		if got.TraceID != want.id || got.SpanCount != 3 || got.ErrorCount != want.errors ||
			got.RootService != "edge" || got.RootOperation != "GET /orders" ||
			got.StartTimeUnixNano != want.start.UnixNano() || got.DurationNano != uint64(want.duration) ||
			!slicesEqual(got.Services, []string{"edge", "worker"}) {
			t.Errorf("trace %d: %+v, want %s from %v for %v with %d errors", i, got, want.id, want.start, want.duration, want.errors)
		}
	}

	q := url.Values{}
	for _, st := range sent {
		q.Add("traceID", st.id)
	}
	var traces []jTrace
	decodeJaeger(t, get(t, ts, "/api/traces?"+q.Encode(), "X-Scope-OrgID", spreadTenant), &traces)
	if len(traces) != len(sent) {
		t.Fatalf("%d Jaeger traces, want %d", len(traces), len(sent))
	}
	for i, tr := range traces {
		var got []string
		for _, sp := range tr.Spans {
			got = append(got, sp.SpanID)
		}
		want := append([]string(nil), sent[i].spans...)
		sort.Strings(got)
		sort.Strings(want)
		if tr.TraceID != sent[i].id || !slicesEqual(got, want) {
			t.Errorf("Jaeger trace %d: %s spans %v, want %s spans %v", i, tr.TraceID, got, sent[i].id, want)
		}
	}
}
