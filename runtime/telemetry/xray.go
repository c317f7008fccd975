package telemetry

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// XRayHeader is the HTTP header of the X-Ray trace context, the form AWS
// clients know (Lambda passes it to runtimes as Lambda-Runtime-Trace-Id).
const XRayHeader = "X-Amzn-Trace-Id"

// xrayPropagator reads and writes "Root=1-{8 hex}-{24 hex};Parent={16
// hex};Sampled={0|1}". OpenTelemetry-Go's contrib X-Ray propagator is
// deprecated, and the format is this small.
type xrayPropagator struct{}

func (xrayPropagator) Fields() []string { return []string{XRayHeader} }

func (xrayPropagator) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	if v := formatXRay(trace.SpanContextFromContext(ctx)); v != "" {
		c.Set(XRayHeader, v)
	}
}

func (xrayPropagator) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	// W3C wins when both are present (the composite runs it first).
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	sc, ok := parseXRay(c.Get(XRayHeader))
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

func formatXRay(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	tid := sc.TraceID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=" + sampled
}

func parseXRay(v string) (trace.SpanContext, bool) {
	// No Sampled (or "Sampled=?") leaves the decision to the receiver,
	// which samples everything.
	cfg := trace.SpanContextConfig{TraceFlags: trace.FlagsSampled}
	var haveTrace, haveParent bool
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			fields := strings.Split(val, "-")
			if len(fields) != 3 || fields[0] != "1" || len(fields[1]) != 8 || len(fields[2]) != 24 {
				return trace.SpanContext{}, false
			}
			b, err := hex.DecodeString(fields[1] + fields[2])
			if err != nil {
				return trace.SpanContext{}, false
			}
			copy(cfg.TraceID[:], b)
			haveTrace = true
		case "Parent":
			b, err := hex.DecodeString(val)
			if err != nil || len(b) != 8 {
				return trace.SpanContext{}, false
			}
			copy(cfg.SpanID[:], b)
			haveParent = true
		case "Sampled":
			if val == "0" {
				cfg.TraceFlags = 0
			}
		}
	}
	if !haveTrace || !haveParent {
		return trace.SpanContext{}, false
	}
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// traceparentFlags spells the flags PropagationHeaders keeps without
// formatting them on every invocation.
var traceparentFlags = [4]string{"00", "01", "02", "03"}

// PropagationHeaders are the W3C traceparent and the X-Ray form of sc,
// for the function's /next. Formatted here rather than through the
// propagators' carriers: this runs on every invocation.
func PropagationHeaders(sc trace.SpanContext) (traceparent, xray string) {
	if !sc.IsValid() {
		return "", ""
	}
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	// The flags the W3C propagator keeps: sampled and (level 2) random.
	flags, sampled := traceparentFlags[sc.TraceFlags()&(trace.FlagsSampled|trace.FlagsRandom)], "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "00-" + tid + "-" + sid + "-" + flags,
		"Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sid + ";Sampled=" + sampled
}
