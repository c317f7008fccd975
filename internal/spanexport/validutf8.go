// Package spanexport holds what Coldtrace puts in front of the OTel SDK's
// span exporters for its own spans (the runtime's invocations, self-tracing).
package spanexport

import (
	"context"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ValidUTF8 wraps exp so that strings that are not valid UTF-8 are
// repaired before export. Protobuf refuses such a string, and an OTLP
// exporter sends a batch as one message, so one byte of a function's
// binary output (a log line) or a caller's %ff in a URL path would lose
// every span of the batch with it. Invalid bytes become U+FFFD, as
// encoding/json does; only the spans that need it are copied.
func ValidUTF8(exp sdktrace.SpanExporter) sdktrace.SpanExporter { return validUTF8Exporter{exp} }

type validUTF8Exporter struct{ sdktrace.SpanExporter }

func (e validUTF8Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	var repaired []sdktrace.ReadOnlySpan // copied on the first repair: spans is the processor's
	for i, s := range spans {
		if spanIsValidUTF8(s) {
			continue
		}
		if repaired == nil {
			repaired = append([]sdktrace.ReadOnlySpan(nil), spans...)
		}
		repaired[i] = repairUTF8(s)
	}
	if repaired != nil {
		spans = repaired
	}
	return e.SpanExporter.ExportSpans(ctx, spans)
}

func spanIsValidUTF8(s sdktrace.ReadOnlySpan) bool {
	if !utf8.ValidString(s.Name()) || !utf8.ValidString(s.Status().Description) || !attrsAreValidUTF8(s.Attributes()) {
		return false
	}
	for _, ev := range s.Events() {
		if !utf8.ValidString(ev.Name) || !attrsAreValidUTF8(ev.Attributes) {
			return false
		}
	}
	for _, l := range s.Links() {
		if !attrsAreValidUTF8(l.Attributes) {
			return false
		}
	}
	return true
}

func attrsAreValidUTF8(attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if !utf8.ValidString(string(kv.Key)) || !valueIsValidUTF8(kv.Value) {
			return false
		}
	}
	return true
}

// valueIsValidUTF8 checks every string a value holds, inside slices and
// maps (keys too) included.
func valueIsValidUTF8(v attribute.Value) bool {
	switch v.Type() {
	case attribute.STRING:
		return utf8.ValidString(v.AsString())
	case attribute.STRINGSLICE:
		for _, s := range v.AsStringSlice() {
			if !utf8.ValidString(s) {
				return false
			}
		}
	case attribute.SLICE:
		for _, e := range v.AsSlice() {
			if !valueIsValidUTF8(e) {
				return false
			}
		}
	case attribute.MAP:
		return attrsAreValidUTF8(v.AsMap())
	}
	return true
}

// repairedSpan is a span with its strings made valid UTF-8; everything
// else is the original's.
type repairedSpan struct {
	sdktrace.ReadOnlySpan
	name   string
	status sdktrace.Status
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	links  []sdktrace.Link
}

func (s repairedSpan) Name() string                     { return s.name }
func (s repairedSpan) Status() sdktrace.Status          { return s.status }
func (s repairedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s repairedSpan) Events() []sdktrace.Event         { return s.events }
func (s repairedSpan) Links() []sdktrace.Link           { return s.links }

func repairUTF8(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	r := repairedSpan{ReadOnlySpan: s, name: validString(s.Name()), status: s.Status(), attrs: repairAttrs(s.Attributes())}
	r.status.Description = validString(r.status.Description)
	for _, ev := range s.Events() {
		ev.Name, ev.Attributes = validString(ev.Name), repairAttrs(ev.Attributes)
		r.events = append(r.events, ev)
	}
	for _, l := range s.Links() {
		l.Attributes = repairAttrs(l.Attributes)
		r.links = append(r.links, l)
	}
	return r
}

func repairAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	if attrsAreValidUTF8(attrs) {
		return attrs
	}
	out := make([]attribute.KeyValue, len(attrs))
	for i, kv := range attrs {
		out[i] = attribute.KeyValue{Key: attribute.Key(validString(string(kv.Key))), Value: repairValue(kv.Value)}
	}
	return out
}

func repairValue(v attribute.Value) attribute.Value {
	switch v.Type() {
	case attribute.STRING:
		return attribute.StringValue(validString(v.AsString()))
	case attribute.STRINGSLICE:
		vs := v.AsStringSlice() // a copy
		for i := range vs {
			vs[i] = validString(vs[i])
		}
		return attribute.StringSliceValue(vs)
	case attribute.SLICE:
		vs := v.AsSlice()
		out := make([]attribute.Value, len(vs))
		for i, e := range vs {
			out[i] = repairValue(e)
		}
		return attribute.SliceValue(out...)
	case attribute.MAP:
		return attribute.MapValue(repairAttrs(v.AsMap())...)
	}
	return v
}

func validString(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
