package main_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// TestSelfTracing runs 'coldtrace up --self-tracing' behind a token: an
// API request continues the caller's trace, with a child span per
// ClickHouse query; a client's OTLP export is traced; the exports of
// Coldtrace's own spans are not (they would trace themselves forever).
func TestSelfTracing(t *testing.T) {
	const token = "self-tracing-test-token"
	chAddr, otlpHTTP, apiAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "up", "--data-dir", t.TempDir(), "--clickhouse-http-addr", chAddr,
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", otlpHTTP, "--http-addr", apiAddr, "--gateway-addr", freeAddr(t),
		"--auth-token", token, "--self-tracing")
	waitHTTP(t, p, "http://"+apiAddr+"/healthz")

	// A client's export, through the OTel SDK.
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(otlpHTTP), otlptracehttp.WithInsecure(),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("client-svc"))))
	_, span := tp.Tracer("test").Start(context.Background(), "client-op")
	span.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A request whose path is not UTF-8 is traced too, and does not cost
	// the spans exported in its batch (the caller's request below).
	if code, body := getWith(t, "http://"+apiAddr+"/api/v1/traces/%ff", "Authorization", "Bearer "+token); code != 400 {
		t.Fatalf("a path that is not UTF-8: %d %s", code, body)
	}
	// An API request in the caller's trace.
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if code, body := getWith(t, "http://"+apiAddr+"/api/v1/services",
		"Authorization", "Bearer "+token, "traceparent", "00-"+traceID+"-"+parentID+"-01"); code != 200 {
		t.Fatalf("services: %d %s", code, body)
	}

	trace := "SELECT SpanName, SpanKind, ParentSpanId = '" + parentID + "', SpanAttributes['http.route'], SpanAttributes['http.response.status_code'], " +
		"SpanAttributes['db.system.name'], ResourceAttributes['coldtrace.role'] FROM coldtrace.otel_traces " +
		"WHERE ServiceName = 'coldtrace' AND TraceId = '" + traceID + "' ORDER BY Timestamp FORMAT TSV"
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = chQuery(t, chAddr, trace); strings.Count(got, "\n") >= 2 {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) < 2 || lines[0] != "GET /api/v1/services\tServer\t1\t/api/v1/services\t200\t\tup" {
		t.Fatalf("the API request's spans in the caller's trace:\n%s", got)
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, "\t"); f[1] != "Client" || f[2] != "0" || f[5] != "clickhouse" {
			t.Errorf("not a ClickHouse query span under the request: %q", l)
		}
	}
	parents := chQuery(t, chAddr, "SELECT count() FROM coldtrace.otel_traces q, coldtrace.otel_traces s "+
		"WHERE q.TraceId = '"+traceID+"' AND s.TraceId = q.TraceId AND q.SpanKind = 'Client' AND q.ParentSpanId = s.SpanId AND s.SpanKind = 'Server' FORMAT TSV")
	if strings.TrimSpace(parents) != strconv.Itoa(len(lines)-1) {
		t.Errorf("%s of %d query spans are children of the request span", strings.TrimSpace(parents), len(lines)-1)
	}

	// Let several exports of self-spans (every 2 s) arrive: none of them
	// may be traced. The one receive span is the client's, for its span.
	time.Sleep(5 * time.Second)
	receives := chQuery(t, chAddr, "SELECT SpanName, SpanKind, SpanAttributes['coldtrace.spans'], SpanAttributes['http.response.status_code'] "+
		"FROM coldtrace.otel_traces WHERE ServiceName = 'coldtrace' AND SpanAttributes['coldtrace.spans'] != '' FORMAT TSV")
	if receives != "POST /v1/traces\tServer\t1\t200\n" {
		t.Errorf("receive spans (want only the client's export):\n%s", receives)
	}
	if n := chQuery(t, chAddr, "SELECT count() FROM coldtrace.otel_traces WHERE ServiceName = 'client-svc' FORMAT TSV"); n != "1\n" {
		t.Errorf("client spans stored: %s", n)
	}
}
