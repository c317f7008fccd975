package server_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/query/api"
)

// quantileTenant keeps the quantile test's spans away from the fixture's.
const quantileTenant = "quantiles"

// sendSpread sends, as quantileTenant, 100 invocations of function
// "spread" within one minute lasting 1 ms to 100 ms; every fifth (20) is a
// cold start with an init duration of twice its duration (10 ms to
// 200 ms). It returns that minute.
func sendSpread(t *testing.T, addr string) time.Time {
	t.Helper()
	ctx := context.Background()
	tp := tenantProvider(t, addr, quantileTenant, attribute.String("service.name", "spread"), attribute.String("faas.name", "spread"),
		attribute.String("faas.version", "1"), attribute.String("faas.instance", "spread-1"), attribute.Int64("faas.max_memory", memoryLimit))
	tr := tp.Tracer("coldtrace.runtime")
	minute := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	for i := 1; i <= 100; i++ {
		start := minute.Add(time.Duration(i) * 500 * time.Millisecond)
		cold := i%5 == 0
		attrs := []attribute.KeyValue{
			attribute.String("faas.trigger", "http"), attribute.String("faas.invocation_id", fmt.Sprintf("spread-%d", i)),
			attribute.Bool("faas.coldstart", cold),
		}
		if cold {
			attrs = append(attrs, attribute.Float64("coldtrace.init_duration_ms", float64(2*i)))
		}
		_, sp := tr.Start(ctx, "spread", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		sp.End(trace.WithTimestamp(start.Add(time.Duration(i) * time.Millisecond)))
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return minute
}

// nearestRank is the q quantile of 1..n times unit by the nearest-rank
// method.
func nearestRank(q float64, n int, unit time.Duration) float64 {
	return math.Ceil(q*float64(n)) * float64(unit)
}

// Quantile metrics of a minute with a spread of durations: p50, p95 and
// p99 differ, and each is near the true quantile (t-digest is an
// estimate: within one value's spacing here).
func testTimeseriesQuantiles(t *testing.T) {
	_, s := setup(t)
	ts := apiServer(t, s)
	minute := sendSpread(t, s.GRPCAddr)
	q := fmt.Sprintf("start=%d&end=%d&step=1m", minute.UnixNano(), minute.Add(2*time.Minute).UnixNano())
	for _, tc := range []struct {
		metric    string
		want, tol float64
	}{
		{api.MetricDurationP50, nearestRank(0.50, 100, time.Millisecond), float64(time.Millisecond)},
		{api.MetricDurationP95, nearestRank(0.95, 100, time.Millisecond), float64(time.Millisecond)},
		{api.MetricDurationP99, nearestRank(0.99, 100, time.Millisecond), float64(time.Millisecond)},
		{api.MetricInitP50, nearestRank(0.50, 20, 10*time.Millisecond), float64(10 * time.Millisecond)},
		{api.MetricInitP95, nearestRank(0.95, 20, 10*time.Millisecond), float64(10 * time.Millisecond)},
		{api.MetricInitP99, nearestRank(0.99, 20, 10*time.Millisecond), float64(10 * time.Millisecond)},
	} {
		var series api.Timeseries
		decode(t, get(t, ts, "/api/v1/functions/spread/timeseries?metric="+tc.metric+"&"+q, "X-Scope-OrgID", quantileTenant), &series)
		if series.Unit != api.UnitNanoseconds || len(series.Points) != 2 {
			t.Fatalf("%s: %+v", tc.metric, series)
		}
		if p := series.Points[0].Value; p != nil {
			t.Logf("%s = %g ms (nearest rank %g ms)", tc.metric, *p/1e6, tc.want/1e6)
		}
		if p := series.Points[0].Value; p == nil || math.Abs(*p-tc.want) > tc.tol {
			t.Errorf("%s = %v ns, want %g ± %g", tc.metric, p, tc.want, tc.tol)
		}
		if p := series.Points[1].Value; p != nil {
			t.Errorf("%s of an empty minute = %g, want null", tc.metric, *p)
		}
	}
	// The default tenant has no function "spread".
	var series api.Timeseries
	decode(t, get(t, ts, "/api/v1/functions/spread/timeseries?metric=duration_p50&"+q), &series)
	if series.Points[0].Value != nil {
		t.Errorf("default tenant sees spread's p50: %g", *series.Points[0].Value)
	}
}

// tenantProvider is an OTel SDK tracer provider that exports to the
// collector at addr as tenant, with a resource of attrs.
func tenantProvider(t *testing.T, addr, tenant string, attrs ...attribute.KeyValue) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"X-Scope-OrgID": tenant}))
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(attrs...)))
}
