package main_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Fault-injection tests: each runs real coldtrace processes, injects one
// fault under load, and checks every acknowledged span is stored exactly
// once. docs/reliability.md records what they do and what they saw.

const spansPerTrace = 20

// otlpLoad sends one trace per request over OTLP/gRPC, each with a unique
// trace id, and remembers which requests were acknowledged.
type otlpLoad struct {
	addr      string
	seq       atomic.Uint64
	mu        sync.Mutex
	acked     map[string]bool
	sent      map[string]bool
	refused   atomic.Int64 // retryable refusals (throttled, unavailable)
	stop      chan struct{}
	wg        sync.WaitGroup
	prefix    uint64
	lastError atomic.Value
}

func newLoad(addr string, prefix uint64) *otlpLoad {
	return &otlpLoad{addr: addr, prefix: prefix, acked: map[string]bool{}, sent: map[string]bool{}, stop: make(chan struct{})}
}

func (l *otlpLoad) request() (string, ptraceotlp.ExportRequest) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "fault-fn")
	rs.Resource().Attributes().PutStr("faas.name", "fault-fn")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[:8], l.prefix)
	binary.BigEndian.PutUint64(tid[8:], l.seq.Add(1))
	now := time.Now()
	for i := 0; i < spansPerTrace; i++ {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		s.SetSpanID(sid)
		s.SetName(fmt.Sprintf("op-%d", i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		if i == 0 {
			s.SetKind(ptrace.SpanKindServer)
			s.Attributes().PutStr("faas.trigger", "http")
		}
	}
	return tid.String(), ptraceotlp.NewExportRequestFromTraces(td)
}

func (l *otlpLoad) start(senders int) {
	for i := 0; i < senders; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			conn, err := grpc.NewClient(l.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				l.lastError.Store(err.Error())
				return
			}
			defer conn.Close()
			client := ptraceotlp.NewGRPCClient(conn)
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				id, req := l.request()
				l.mu.Lock()
				l.sent[id] = true
				l.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := client.Export(ctx, req)
				cancel()
				if err == nil {
					l.mu.Lock()
					l.acked[id] = true
					l.mu.Unlock()
					continue
				}
				if c := status.Code(err); c == codes.ResourceExhausted || c == codes.Unavailable {
					l.refused.Add(1)
				}
				l.lastError.Store(err.Error())
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
}

func (l *otlpLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

// verifyExactlyOnce checks every acknowledged trace is stored with all its
// spans once, and no trace is stored twice or in part.
func verifyExactlyOnce(t *testing.T, chAddr, db string, l *otlpLoad) {
	t.Helper()
	q := url.QueryEscape(fmt.Sprintf("SELECT TraceId, count() FROM %s.otel_traces GROUP BY TraceId", db))
	_, body := getWith(t, "http://"+chAddr+"/?query="+q)
	stored := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 2 {
			stored[f[0]], _ = strconv.Atoi(f[1])
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acked) == 0 {
		t.Fatal("no request was acknowledged")
	}
	missing := 0
	for id := range l.acked {
		if stored[id] != spansPerTrace {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged trace %s stored with %d spans, want %d", id, stored[id], spansPerTrace)
			}
		}
	}
	for id, n := range stored {
		if n != spansPerTrace {
			t.Errorf("trace %s stored with %d spans (duplicated or torn)", id, n)
		}
		if !l.sent[id] {
			t.Errorf("trace %s stored but never sent", id)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged traces not stored exactly once", missing, len(l.acked))
	}
	t.Logf("%d requests sent, %d acknowledged (%d spans), %d stored traces, %d retryable refusals",
		len(l.sent), len(l.acked), len(l.acked)*spansPerTrace, len(stored), l.refused.Load())
}

// waitDrained polls a role's metrics until its spool is empty.
func waitDrained(t *testing.T, metricsURL string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if code, m := httpGetQuiet(metricsURL); code == 200 && strings.Contains(m, "\ncoldtrace_ingest_spool_records 0\n") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, m := httpGetQuiet(metricsURL)
	t.Fatalf("spool not drained within %v:\n%s", within, grepLines(m, "coldtrace_ingest"))
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestKill9UnderLoad kills coldtrace with SIGKILL while it takes load,
// restarts it on the same data directory, and checks every acknowledged
// span is stored exactly once.
func TestKill9UnderLoad(t *testing.T) {
	dir := t.TempDir()
	grpcAddr, httpAddr, chAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	args := []string{"up", "--data-dir", dir, "--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freeAddr(t),
		"--http-addr", httpAddr, "--gateway-addr", freeAddr(t), "--clickhouse-http-addr", chAddr}
	p1 := start(t, nil, args...)
	waitHTTP(t, p1, "http://"+httpAddr+"/readyz")
	load := newLoad(grpcAddr, 1)
	load.start(4)
	// Kill once the process has acknowledged a good number of requests.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		load.mu.Lock()
		n := len(load.acked)
		load.mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests acknowledged in 60 s: %v", n, load.lastError.Load())
		}
	}
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p1.wait()
	load.halt()

	p2 := start(t, nil, args...)
	waitHTTP(t, p2, "http://"+httpAddr+"/readyz")
	waitDrained(t, "http://"+httpAddr+"/metrics", 2*time.Minute)
	verifyExactlyOnce(t, chAddr, "coldtrace", load)
}

// engine runs `coldtrace up` as a stand-in ClickHouse server: its
// embedded engine's HTTP interface on chAddr.
func engine(t *testing.T, dir, chAddr string) *process {
	p := start(t, nil, "up", "--data-dir", dir, "--clickhouse-http-addr", chAddr, "--otlp-grpc-addr", freeAddr(t),
		"--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t))
	waitHTTP(t, p, "http://"+chAddr+"/ping")
	return p
}

func stopProcess(t *testing.T, p *process) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		t.Fatal("process did not stop on SIGTERM within 60 s")
	}
}

// TestClickHouseUnavailable30s takes ClickHouse away from a collector for
// 30 seconds under load: the collector keeps acknowledging into its spool
// and stores everything once ClickHouse is back.
func TestClickHouseUnavailable30s(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a minute")
	}
	engineDir, chAddr := t.TempDir(), freeAddr(t)
	eng := engine(t, engineDir, chAddr)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	coll := start(t, nil, "collector", "--clickhouse", "http://"+chAddr, "--data-dir", t.TempDir(),
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freeAddr(t), "--admin-addr", adminAddr)
	waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
	load := newLoad(grpcAddr, 2)
	load.start(4)
	time.Sleep(3 * time.Second)
	stopProcess(t, eng) // ClickHouse goes away
	outageStart := time.Now()
	time.Sleep(2 * time.Second)
	// The spool has room: the collector stays ready, so a load balancer
	// keeps sending to it (and to the others, in the same outage).
	if code, body := httpGetQuiet("http://" + adminAddr + "/readyz"); code != 200 {
		t.Errorf("readyz during the outage, the spool with room: %d %s", code, body)
	}
	ackedBefore := len(load.ackedIDs())
	time.Sleep(28 * time.Second)
	if after := len(load.ackedIDs()); after <= ackedBefore {
		t.Errorf("no request acknowledged during the outage (%d before, %d after)", ackedBefore, after)
	}
	engine(t, engineDir, chAddr) // back on the same data and port
	t.Logf("ClickHouse unavailable for %v", time.Since(outageStart).Round(time.Second))
	time.Sleep(2 * time.Second)
	load.halt()
	waitDrained(t, "http://"+adminAddr+"/metrics", 2*time.Minute)
	verifyExactlyOnce(t, chAddr, "coldtrace", load)
}

func (l *otlpLoad) ackedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.acked))
	for id := range l.acked {
		out = append(out, id)
	}
	return out
}

// TestSpoolDiskFull puts the spool on a 2 MiB tmpfs and takes ClickHouse
// away: when the disk fills, senders get a retryable error that says so;
// once ClickHouse is back the spool drains and appends work again.
func TestSpoolDiskFull(t *testing.T) {
	spoolDir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", spoolDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for the spool (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", spoolDir).Run() })
	engineDir, chAddr := t.TempDir(), freeAddr(t)
	eng := engine(t, engineDir, chAddr)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	coll := start(t, nil, "collector", "--clickhouse", "http://"+chAddr, "--spool-dir", spoolDir,
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freeAddr(t), "--admin-addr", adminAddr, "--data-dir", t.TempDir())
	waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
	stopProcess(t, eng)

	load := newLoad(grpcAddr, 3)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	var fullErr error
	for i := 0; i < 5000 && fullErr == nil; i++ {
		id, req := load.request()
		load.sent[id] = true
		if _, err := client.Export(context.Background(), req); err != nil {
			fullErr = err
		} else {
			load.acked[id] = true
		}
	}
	st, _ := status.FromError(fullErr)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "spool disk full") {
		t.Fatalf("want RESOURCE_EXHAUSTED saying the spool disk is full, got %v", fullErr)
	}
	if code, body := httpGetQuiet("http://" + adminAddr + "/readyz"); code != 503 || !strings.Contains(body, "disk full") {
		t.Errorf("readyz with a full spool disk: %d %s", code, body)
	}
	engine(t, engineDir, chAddr)
	waitDrained(t, "http://"+adminAddr+"/metrics", 2*time.Minute)
	id, req := load.request()
	load.sent[id] = true
	if _, err := client.Export(context.Background(), req); err != nil {
		t.Fatalf("export after the spool drained: %v", err)
	}
	load.acked[id] = true
	waitDrained(t, "http://"+adminAddr+"/metrics", time.Minute)
	verifyExactlyOnce(t, chAddr, "coldtrace", load)
}

func httpGetQuiet(u string) (int, string) {
	resp, err := httpClient.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	// What arrived before an error is what the caller looks at.
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOverloadSDKRetriesDeliverEverything overloads a collector (a small
// spool and no ClickHouse for a while): senders get retryable answers,
// and the OTel SDK's own retries deliver every span once ClickHouse is
// back.
func TestOverloadSDKRetriesDeliverEverything(t *testing.T) {
	engineDir, chAddr := t.TempDir(), freeAddr(t)
	eng := engine(t, engineDir, chAddr)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	coll := start(t, nil, "collector", "--clickhouse", "http://"+chAddr, "--data-dir", t.TempDir(), "--spool-max-bytes", "65536", "--max-request-bytes", "65536", "--max-inflight-bytes", "65536",
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freeAddr(t), "--admin-addr", adminAddr)
	waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
	stopProcess(t, eng)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: 3 * time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewWithAttributes("", attribute.String("service.name", "overloaded"))
	// A synchronous exporter: each span is retried until delivered, so
	// nothing is dropped by the SDK's own queue.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("overload")
	const senders, perSender = 8, 150
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < perSender; j++ {
				_, span := tracer.Start(ctx, fmt.Sprintf("op-%d-%d", i, j), trace.WithAttributes(attribute.String("pad", strings.Repeat("x", 200))))
				span.End()
			}
		}(i)
	}
	// Let the spool fill and senders be refused, then bring ClickHouse back.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, m := httpGetQuiet("http://" + adminAddr + "/metrics")
		if strings.Contains(m, "coldtrace_receiver_spans_refused_total") && !strings.Contains(m, "coldtrace_receiver_spans_refused_total 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sender was refused within 60 s:\n%s", grepLines(m, "coldtrace_"))
		}
	}
	engine(t, engineDir, chAddr)
	wg.Wait()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("SDK shutdown: %v", err)
	}
	waitDrained(t, "http://"+adminAddr+"/metrics", 2*time.Minute)
	q := url.QueryEscape("SELECT count(), uniqExact(SpanName) FROM coldtrace.otel_traces WHERE ServiceName = 'overloaded'")
	if _, got := getWith(t, "http://"+chAddr+"/?query="+q); got != fmt.Sprintf("%d\t%d\n", senders*perSender, senders*perSender) {
		t.Fatalf("stored (spans, distinct spans) = %q, want %d each", got, senders*perSender)
	}
	_, m := httpGetQuiet("http://" + adminAddr + "/metrics")
	t.Logf("receiver after recovery:\n%s", grepLines(m, "coldtrace_receiver"))
}

// TestSIGTERMDrains stops a collector with SIGTERM under load: it must
// exit cleanly within its shutdown timeout with every acknowledged span
// stored in ClickHouse (nothing left for the next start).
func TestSIGTERMDrains(t *testing.T) {
	engineDir, chAddr := t.TempDir(), freeAddr(t)
	engine(t, engineDir, chAddr)
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	coll := start(t, nil, "collector", "--clickhouse", "http://"+chAddr, "--data-dir", t.TempDir(),
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freeAddr(t), "--admin-addr", adminAddr, "--shutdown-timeout", "30s")
	waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
	load := newLoad(grpcAddr, 4)
	load.start(4)
	time.Sleep(3 * time.Second)
	sent := time.Now()
	if err := coll.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-coll.exited:
		if err := coll.waitErr; err != nil {
			t.Fatalf("collector exited with %v after SIGTERM", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("collector did not exit within 45 s of SIGTERM")
	}
	t.Logf("collector exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	load.halt()
	verifyExactlyOnce(t, chAddr, "coldtrace", load)
}
