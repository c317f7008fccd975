package ingest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/ingest/schema"
)

// gatedWriter holds every insert until the gate opens: it stands for a
// slow ClickHouse without making the test depend on timing.
type gatedWriter struct {
	w    Writer
	gate chan struct{}
}

func (g *gatedWriter) Write(ctx context.Context, blocks []*rows, token string) error {
	<-g.gate
	return g.w.Write(ctx, blocks, token)
}

func spansJSON(traceID string, n int) string { return spansJSONService(traceID, "", n) }

// spansJSONService is an OTLP/JSON request of n spans of one trace.
func spansJSONService(traceID, service string, n int) string {
	var b strings.Builder
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"traceId":%q,"spanId":"%016x","name":"op","startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`, traceID, i+1, now, now+1000)
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"` + service + `"}}]},"scopeSpans":[{"spans":[` + b.String() + `]}]}]}`
}

// TestBackpressure fills the queue and checks that both protocols answer
// with OTLP's retryable signals, and that the queued request is stored
// once ClickHouse keeps up again.
func TestBackpressure(t *testing.T) {
	client, so := migrated(t)
	ctx := context.Background()
	gw := &gatedWriter{w: newClickHouseWriter(client, so), gate: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.BatchSpans, cfg.QueueSpans, cfg.Writers = 100, 100, 1
	p, err := newPipeline(cfg, gw, nil)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := collector.DefaultConfig()
	ccfg.GRPCAddr, ccfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	r, err := collector.New(ccfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	defer p.Shutdown(ctx)
	url := "http://" + r.HTTPAddr() + collector.TracesPath

	firstID := fmt.Sprintf("%032x", time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Post(url, "application/json", strings.NewReader(spansJSON(firstID, 60)))
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("first request: %d %s", resp.StatusCode, b)
		}
	}()
	for p.Stats().Queued.Load() < 60 {
		time.Sleep(time.Millisecond)
	}

	resp, err := http.Post(url, "application/json", strings.NewReader(spansJSON(fmt.Sprintf("%032x", 7), 60)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "queue full") {
		t.Errorf("HTTP over the queue: status %d Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(spansJSON(fmt.Sprintf("%032x", 8), 60))); err != nil {
		t.Fatal(err)
	}
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, req)
	st, _ := status.FromError(err)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	if st.Code() != codes.ResourceExhausted || retry == nil || retry.RetryDelay.AsDuration() <= 0 {
		t.Errorf("gRPC over the queue: %v, retry info %v", err, retry)
	}
	if got := p.Stats().SpansRejected.Load(); got != 120 {
		t.Errorf("rejected %d spans, want 120", got)
	}

	close(gw.gate)
	wg.Wait()
	var n uint64
	if err := client.QueryRow(ctx, "SELECT count() FROM "+so.Table(schema.TracesTable)+" WHERE TraceId = ?", firstID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 60 {
		t.Fatalf("queued request stored %d spans, want 60", n)
	}
}

// The tables keep a deduplication window for the spool's tokens: without a
// spool, ClickHouse must not drop an insert for looking like an earlier
// one. With RecentSpans off, identical requests are all stored; with it
// (the default), ingest stores their spans once.
func TestDirectModeStoresIdenticalRequests(t *testing.T) {
	for _, tc := range []struct {
		recentSpans int
		want        uint64
	}{{0, 15}, {DefaultConfig().RecentSpans, 5}} {
		client, so := migrated(t)
		ctx := context.Background()
		cfg := DefaultConfig()
		cfg.Writers = 1
		cfg.RecentSpans = tc.recentSpans
		p, err := New(cfg, client, so, nil)
		if err != nil {
			t.Fatal(err)
		}
		body := spansJSON(fmt.Sprintf("%032x", 42), 5)
		for i := 0; i < 3; i++ {
			td, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(body))
			if err := p.ConsumeTraces(ctx, td); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := client.QueryRow(ctx, "SELECT count() FROM "+so.Table(schema.TracesTable)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("recent spans %d: stored %d spans of 3 identical requests of 5, want %d", tc.recentSpans, n, tc.want)
		}
	}
}

// Inserts that ClickHouse refuses while it still answers pings (here, the
// spans table detached) show in InsertsFailingFor, and the next stored
// batch clears it.
func TestInsertsFailingFor(t *testing.T) {
	client, so := migrated(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.RetryFor = 200 * time.Millisecond
	p, err := New(cfg, client, so, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	send := func(trace int) error {
		td, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(spansJSON(fmt.Sprintf("%032x", trace), 2)))
		return p.ConsumeTraces(ctx, td)
	}
	if err := client.Exec(ctx, "DETACH TABLE "+so.Table(schema.TracesTable)); err != nil {
		t.Fatal(err)
	}
	if err := send(1); err == nil {
		t.Fatal("insert into a detached table succeeded")
	}
	if d := p.InsertsFailingFor(); d <= 0 {
		t.Errorf("inserts failing for %v after failed retries", d)
	}
	if err := client.Exec(ctx, "ATTACH TABLE "+so.Table(schema.TracesTable)); err != nil {
		t.Fatal(err)
	}
	if err := send(2); err != nil {
		t.Fatal(err)
	}
	if d := p.InsertsFailingFor(); d != 0 {
		t.Errorf("inserts failing for %v after a stored batch", d)
	}
}

// countingWriter counts the inserts it passes on.
type countingWriter struct {
	w     Writer
	calls atomic.Int64
}

func (c *countingWriter) Write(ctx context.Context, blocks []*rows, token string) error {
	c.calls.Add(1)
	return c.w.Write(ctx, blocks, token)
}

// Without a spool, a Shutdown whose deadline passes gives up the inserts
// it leaves behind, answers their senders, and returns: it used to wait
// for them to exhaust --insert-retry-for, and with a shorter wait of its
// caller's their retries went on against a client the process closes.
func TestShutdownStopsRetries(t *testing.T) {
	client, so := migrated(t)
	ctx := context.Background()
	cw := &countingWriter{w: newClickHouseWriter(client, so)}
	cfg := DefaultConfig()
	cfg.RetryFor = time.Hour
	p, err := newPipeline(cfg, cw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Exec(ctx, "DETACH TABLE "+so.Table(schema.TracesTable)); err != nil {
		t.Fatal(err)
	}
	defer client.Exec(ctx, "ATTACH TABLE "+so.Table(schema.TracesTable))
	sent := make(chan error, 1)
	go func() {
		td, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(spansJSON(fmt.Sprintf("%032x", 1), 2)))
		sent <- p.ConsumeTraces(ctx, td)
	}()
	for cw.calls.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		stopped <- p.Shutdown(sctx)
	}()
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("Shutdown with spans not stored returned nil")
		}
	case <-time.After(time.Minute): // a liveness bound, far past the deadline
		t.Fatal("Shutdown still waits for an insert retried for an hour")
	}
	select {
	case err := <-sent:
		if err == nil {
			t.Error("the request whose spans were not stored was acknowledged")
		}
	case <-time.After(time.Minute): // a liveness bound
		t.Error("the request is still waiting after Shutdown returned")
	}
	after := cw.calls.Load()
	time.Sleep(time.Second) // the retries' backoff is 100 ms and up
	if n := cw.calls.Load() - after; n > 0 {
		t.Errorf("%d inserts after Shutdown returned", n)
	}
}

// slowWriter takes delay before each insert it passes on, or gives up
// when the insert's context ends first: a ClickHouse too slow for the
// insert timeout.
type slowWriter struct {
	w     Writer
	delay time.Duration
}

func (s *slowWriter) Write(ctx context.Context, blocks []*rows, token string) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.w.Write(ctx, blocks, token)
}

// An insert that runs out of time is retried with a longer timeout: with
// the same one it would run out every time, and a spool batch, replayed
// exactly as it was, would stall the drain for good.
func TestInsertTimeoutGrowsOnRetry(t *testing.T) {
	client, so := migrated(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.InsertTimeout, cfg.RetryFor = 100*time.Millisecond, time.Minute
	p, err := newPipeline(cfg, &slowWriter{w: newClickHouseWriter(client, so), delay: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	td, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(spansJSON(fmt.Sprintf("%032x", 7), 3)))
	if err := p.ConsumeTraces(ctx, td); err != nil {
		t.Fatalf("an insert slower than its timeout was never stored: %v", err)
	}
	var stored uint64
	if err := client.QueryRow(ctx, "SELECT count() FROM "+so.Table(schema.TracesTable)).Scan(&stored); err != nil || stored != 3 {
		t.Fatalf("stored %d spans (%v), want 3", stored, err)
	}
}
