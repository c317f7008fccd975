package main_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestCollectorStartsWhileClickHouseIsDown starts a spooled collector
// whose ClickHouse does not answer, and restarts it before ClickHouse
// does: both times it must take spans at once, from the OTel SDK's OTLP/HTTP
// exporter (which drops a batch on a refused connection) and over
// OTLP/gRPC, and store every one exactly once when ClickHouse comes up. The
// collector's database is one only it creates, so a drain that inserted
// before migrating the schema would show as failed inserts.
func TestCollectorStartsWhileClickHouseIsDown(t *testing.T) {
	engineDir, chAddr, dataDir := t.TempDir(), freeAddr(t), t.TempDir()
	grpcAddr, httpAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	args := []string{"collector", "--clickhouse", "http://" + chAddr, "--clickhouse-database", "outage", "--data-dir", dataDir,
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", httpAddr, "--admin-addr", adminAddr,
		// Far longer than stopProcess waits: stopping must not wait for a
		// drain that cannot start.
		"--shutdown-timeout", "10m"}
	load := newLoad(grpcAddr, 5)

	first := start(t, nil, args...)
	waitHTTP(t, first, "http://"+adminAddr+"/readyz")
	expectReadyWithoutClickHouse(t, adminAddr)
	sendAcknowledged(t, load, httpAddr)
	stopProcess(t, first)
	waitOutput(t, first, "remain in the spool and will be stored after the next start")

	second := start(t, nil, args...)
	waitHTTP(t, second, "http://"+adminAddr+"/readyz")
	expectReadyWithoutClickHouse(t, adminAddr)
	sendAcknowledged(t, load, httpAddr)

	engine(t, engineDir, chAddr)
	waitDrained(t, "http://"+adminAddr+"/metrics", 2*time.Minute)
	verifyExactlyOnce(t, chAddr, "outage", load)
	for _, want := range []string{"waiting for ClickHouse", "connection refused", "ClickHouse answered, schema migrated"} {
		waitOutput(t, second, want)
	}
	if out := second.out.String(); strings.Contains(out, "insert failed") {
		t.Errorf("the drain inserted before the schema was ready:\n%s", out)
	}
}

// Without a spool a span is acknowledged once stored: a collector that
// cannot reach ClickHouse says so at start instead of refusing every span.
func TestCollectorWithoutSpoolFailsFastWhileClickHouseIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, coldtraceBin, "collector", "--spool=false", "--clickhouse", "http://"+freeAddr(t), "--data-dir", t.TempDir(),
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t), "--admin-addr", freeAddr(t)).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("collector --spool=false kept running without ClickHouse:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "ping clickhouse") || !strings.Contains(string(out), "connection refused") {
		t.Fatalf("collector --spool=false without ClickHouse: %v\n%s", err, out)
	}
}

// expectReadyWithoutClickHouse checks a collector is ready on its spool
// while ClickHouse is down, and its metrics say nothing is stored.
func expectReadyWithoutClickHouse(t *testing.T, adminAddr string) {
	t.Helper()
	if code, body := httpGetQuiet("http://" + adminAddr + "/readyz"); code != 200 || !strings.Contains(body, `"spool":"ok"`) {
		t.Fatalf("readyz with ClickHouse down and the spool with room: %d %s", code, body)
	}
	if _, m := httpGetQuiet("http://" + adminAddr + "/metrics"); !strings.Contains(m, "\ncoldtrace_ingest_inserts_failing_seconds ") ||
		strings.Contains(m, "\ncoldtrace_ingest_inserts_failing_seconds 0\n") {
		t.Errorf("metrics do not say inserts are failing while ClickHouse is down:\n%s", grepLines(m, "coldtrace_ingest"))
	}
}

// sendAcknowledged sends traces over OTLP/gRPC and through the OTel SDK's
// OTLP/HTTP exporter, each of which must be acknowledged.
func sendAcknowledged(t *testing.T, l *otlpLoad, httpAddr string) {
	t.Helper()
	ctx := context.Background()
	conn, err := grpc.NewClient(l.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	for range 5 {
		id, req := l.request()
		l.sent[id] = true
		if _, err := client.Export(ctx, req); err != nil {
			t.Fatalf("OTLP/gRPC export while ClickHouse is down: %v", err)
		}
		l.acked[id] = true
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(httpAddr), otlptracehttp.WithInsecure(),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	for range 2 {
		id, spans := l.sdkTrace()
		l.sent[id] = true
		if err := exp.ExportSpans(ctx, spans.Snapshots()); err != nil {
			t.Fatalf("OTel SDK OTLP/HTTP export while ClickHouse is down: %v", err)
		}
		l.acked[id] = true
	}
}

// sdkTrace is request's trace as the OTel SDK's spans.
func (l *otlpLoad) sdkTrace() (string, tracetest.SpanStubs) {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], l.prefix)
	binary.BigEndian.PutUint64(tid[8:], l.seq.Add(1))
	res := resource.NewWithAttributes("", attribute.String("service.name", "fault-fn"))
	now := time.Now()
	spans := make(tracetest.SpanStubs, spansPerTrace)
	for i := range spans {
		var sid trace.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		spans[i] = tracetest.SpanStub{
			Name:        fmt.Sprintf("op-%d", i),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			StartTime:   now,
			EndTime:     now.Add(time.Millisecond),
			Resource:    res,
		}
	}
	return tid.String(), spans
}
