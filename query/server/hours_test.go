package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/query/api"
)

// hoursTenant keeps this test's spans away from the fixture's.
const hoursTenant = "hours"

// invocation is one invocation sent by sendHours.
type invocation struct {
	start    time.Time
	duration time.Duration
	cold     bool
}

// sendHours sends, as hoursTenant, an invocation of function "hourly"
// every 5 minutes over the last 6 hours, each with its own duration
// (i ms), every seventh a cold start.
func sendHours(t *testing.T, addr string) []invocation {
	t.Helper()
	ctx := context.Background()
	tp := tenantProvider(t, addr, hoursTenant,
		attribute.String("service.name", "hourly"), attribute.String("faas.name", "hourly"), attribute.String("faas.version", "1"))
	tr := tp.Tracer("coldtrace.runtime")
	first := time.Now().Add(-6 * time.Hour).Truncate(5 * time.Minute).Add(30 * time.Second)
	var sent []invocation
	for i := 1; i <= 72; i++ {
		inv := invocation{start: first.Add(time.Duration(i-1) * 5 * time.Minute), duration: time.Duration(i) * time.Millisecond, cold: i%7 == 0}
		_, sp := tr.Start(ctx, "hourly", trace.WithTimestamp(inv.start), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("faas.trigger", "http"), attribute.String("faas.invocation_id", fmt.Sprintf("hourly-%d", i)),
				attribute.Bool("faas.coldstart", inv.cold)))
		sp.End(trace.WithTimestamp(inv.start.Add(inv.duration)))
		sent = append(sent, inv)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return sent
}

// The functions summary over windows of whole and partial hours (read
// from the hourly rollup and, at the ends, the per-minute one) counts
// every invocation in the window once: the duration sum tells a double
// count or a gap apart.
func testFunctionsAcrossHours(t *testing.T) {
	_, s := setup(t)
	ts := apiServer(t, s)
	sent := sendHours(t, s.GRPCAddr)
	now := time.Now().Truncate(time.Minute)
	for _, w := range [][2]time.Time{
		{now.Add(-5*time.Hour - 23*time.Minute), now.Add(-7 * time.Minute)},    // partial hours at both ends
		{now.Add(-7 * time.Hour).Truncate(time.Hour), now.Truncate(time.Hour)}, // whole hours only
		{now.Add(-50 * time.Minute), now},                                      // within an hour or two
		{now.Add(-6*time.Hour - 30*time.Minute), now.Add(time.Minute)},         // everything
	} {
		var want api.FunctionSummary
		var durations time.Duration
		for _, inv := range sent {
			if !inv.start.Before(w[0]) && inv.start.Before(w[1]) {
				want.Invocations++
				durations += inv.duration
				if inv.cold {
					want.ColdStarts++
				}
			}
		}
		var body api.Functions
		decode(t, get(t, ts, fmt.Sprintf("/api/v1/functions?start=%d&end=%d", w[0].UnixNano(), w[1].UnixNano()), "X-Scope-OrgID", hoursTenant), &body)
		if len(body.Functions) != 1 {
			t.Fatalf("window %v–%v: %d functions, want 1: %+v", w[0], w[1], len(body.Functions), body.Functions)
		}
		got := body.Functions[0]
		avg := float64(durations) / float64(want.Invocations)
		if got.Invocations != want.Invocations || got.ColdStarts != want.ColdStarts || got.AvgDurationNano != avg {
			t.Errorf("window %v–%v: %d invocations, %d cold, avg %g ns; want %d, %d, %g",
				w[0], w[1], got.Invocations, got.ColdStarts, got.AvgDurationNano, want.Invocations, want.ColdStarts, avg)
		}
		if got.Duration == nil || got.Duration.P50Nano < float64(sent[0].duration) || got.Duration.P99Nano > float64(sent[len(sent)-1].duration) {
			t.Errorf("window %v–%v: duration quantiles %+v outside the durations sent", w[0], w[1], got.Duration)
		}
	}
}
