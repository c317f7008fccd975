package spanexport

import (
	"context"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Every string a span holds is repaired, however deep in an attribute
// value it sits; valid spans pass untouched.
func TestValidUTF8RepairsEveryString(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(ValidUTF8(mem)))
	const bad = "x\xffy"
	attrs := []attribute.KeyValue{
		attribute.String("s", bad),
		attribute.StringSlice("ss", []string{"ok", bad}),
		attribute.Slice("slice", attribute.StringValue(bad), attribute.Int64Value(7)),
		attribute.Map("map", attribute.String("inner", bad), attribute.String("k\xfe", "v")),
		attribute.Int("n", 3),
	}
	_, span := tp.Tracer("t").Start(context.Background(), "op "+bad, trace.WithAttributes(attrs...),
		trace.WithLinks(trace.Link{Attributes: []attribute.KeyValue{attribute.String("l", bad)}}))
	span.AddEvent("ev "+bad, trace.WithAttributes(attribute.String("message", bad)))
	span.SetStatus(codes.Error, bad)
	span.End()
	_, ok := tp.Tracer("t").Start(context.Background(), "fine", trace.WithAttributes(attribute.String("s", "ok")))
	ok.End()

	got := mem.GetSpans()
	if len(got) != 2 {
		t.Fatalf("%d spans exported", len(got))
	}
	s := got[0]
	var strs []string
	var walk func(attribute.Value)
	walk = func(v attribute.Value) {
		switch v.Type() {
		case attribute.STRING:
			strs = append(strs, v.AsString())
		case attribute.STRINGSLICE:
			strs = append(strs, v.AsStringSlice()...)
		case attribute.SLICE:
			for _, e := range v.AsSlice() {
				walk(e)
			}
		case attribute.MAP:
			for _, kv := range v.AsMap() {
				strs = append(strs, string(kv.Key))
				walk(kv.Value)
			}
		}
	}
	collect := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			strs = append(strs, string(kv.Key))
			walk(kv.Value)
		}
	}
	strs = append(strs, s.Name, s.Status.Description, s.Events[0].Name)
	collect(s.Attributes)
	collect(s.Events[0].Attributes)
	collect(s.Links[0].Attributes)
	for _, str := range strs {
		if !utf8.ValidString(str) {
			t.Errorf("still not UTF-8: %q", str)
		}
	}
	if s.Name != "op x\uFFFDy" || s.Attributes[4].Value.AsInt64() != 3 || s.Attributes[2].Value.AsSlice()[1].AsInt64() != 7 {
		t.Errorf("repaired span: %q %v", s.Name, s.Attributes)
	}
	if got[1].Name != "fine" || got[1].Attributes[0].Value.AsString() != "ok" {
		t.Errorf("valid span changed: %+v", got[1])
	}
}
