package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func spanContext(t *testing.T, tid, sid string, flags trace.TraceFlags) trace.SpanContext {
	t.Helper()
	cfg := trace.SpanContextConfig{TraceFlags: flags}
	var err error
	if cfg.TraceID, err = trace.TraceIDFromHex(tid); err != nil {
		t.Fatal(err)
	}
	if cfg.SpanID, err = trace.SpanIDFromHex(sid); err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(cfg)
}

func TestPropagationHeadersMatchTheW3CPropagator(t *testing.T) {
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsRandom, trace.FlagsSampled | trace.FlagsRandom, 0xff} {
		sc := spanContext(t, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", flags)
		sampled := sc.IsSampled()
		c := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
		tp, xray := PropagationHeaders(sc)
		if tp != c.Get("traceparent") {
			t.Fatalf("traceparent %q, the propagator says %q", tp, c.Get("traceparent"))
		}
		want := "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=0"
		if sampled {
			want = want[:len(want)-1] + "1"
		}
		if xray != want {
			t.Fatalf("x-ray %q, want %q", xray, want)
		}
		back, ok := parseXRay(xray)
		if !ok || back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || back.IsSampled() != sampled {
			t.Fatalf("parsing %q gave %v", xray, back)
		}
	}
	if tp, xray := PropagationHeaders(trace.SpanContext{}); tp != "" || xray != "" {
		t.Fatal("headers for an invalid span context")
	}
}

func TestExtractReadsW3CThenXRay(t *testing.T) {
	tel, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	both := propagation.MapCarrier{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		XRayHeader:    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
	}
	if sc := trace.SpanContextFromContext(tel.Extract(context.Background(), both)); sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("with both headers the W3C one must win, got %v", sc)
	}
	xrayOnly := propagation.MapCarrier{XRayHeader: both[XRayHeader]}
	sc := trace.SpanContextFromContext(tel.Extract(context.Background(), xrayOnly))
	if sc.TraceID().String() != "5759e988bd862e3fe1be46a994272793" || sc.SpanID().String() != "53995c3f42cd8ad8" || !sc.IsRemote() {
		t.Fatalf("x-ray only: %v", sc)
	}
	// No sampling decision upstream: the receiver decides, and samples.
	for _, v := range []string{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?"} {
		if sc, ok := parseXRay(v); !ok || !sc.IsSampled() {
			t.Errorf("%q: %v, want sampled", v, sc)
		}
	}
	if sc, _ := parseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"); sc.IsSampled() {
		t.Error("Sampled=0 must stay unsampled")
	}
	for _, bad := range []string{"", "Root=1-5759e988-bd86;Parent=53995c3f42cd8ad8", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
		"Root=1-5759e988-bd862e3fe1be46a994272793", "Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=53995c3f42cd8ad8"} {
		if _, ok := parseXRay(bad); ok {
			t.Errorf("parsed malformed %q", bad)
		}
	}
}
