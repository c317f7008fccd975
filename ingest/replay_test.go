package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/ingest/spool"
	"github.com/coldtrace/coldtrace/internal/chclient"
)

// A crash between a spool batch's insert and its commit makes the next
// process insert the batch again; its deduplication token makes
// ClickHouse keep one copy, in the span table and in the tables the
// materialized views fill.
func TestReplayAfterCrashStoresOnce(t *testing.T) {
	client, so := migrated(t)
	opts := replaySpoolOptions(t.TempDir())
	crashMidBatch(t, client, so, opts)
	checkStoredOnce(t, replaySpool(t, client, so, opts))
}

// The same with the embedded engine of each process its own, as after a
// real crash: the first process migrates a new data directory (migrations
// 10 and 13 change views with MODIFY QUERY), inserts a batch and dies
// before its commit; the next process replays it. Before the migrations
// reloaded the views they changed, the trace-id lookup and the per-minute
// rollup counted the replayed batch twice.
func TestReplayInTheNextProcessStoresOnce(t *testing.T) {
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		t.Skip("needs /proc/self/exe to run the test binary again")
	}
	dir := t.TempDir()
	run := func(step string) []byte {
		cmd := exec.Command("/proc/self/exe", "-test.run=^TestReplayProcessStep$", "-test.v")
		cmd.Env = append(os.Environ(), replayStepEnv+"="+step, replayDirEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("process %s: %v\n%s", step, err, out)
		}
		return out
	}
	run("crash")
	out := run("replay")
	_, after, ok := strings.Cut(string(out), replayCountsPrefix)
	if !ok {
		t.Fatalf("the replaying process printed no counts:\n%s", out)
	}
	var got storedCounts
	if err := json.Unmarshal([]byte(strings.SplitN(after, "\n", 2)[0]), &got); err != nil {
		t.Fatalf("counts: %v\n%s", err, out)
	}
	checkStoredOnce(t, got)
}

const (
	replayStepEnv      = "COLDTRACE_TEST_REPLAY_STEP"
	replayDirEnv       = "COLDTRACE_TEST_REPLAY_DIR"
	replayCountsPrefix = "replay counts: "
)

// TestReplayProcessStep is one process of TestReplayInTheNextProcessStoresOnce;
// it runs only as that test's child.
func TestReplayProcessStep(t *testing.T) {
	step, dir := os.Getenv(replayStepEnv), os.Getenv(replayDirEnv)
	if step == "" {
		t.Skip("a step of TestReplayInTheNextProcessStoresOnce")
	}
	ctx := context.Background()
	client, err := chclient.Open(ctx, chclient.Config{DSN: chclient.Embedded, DataDir: dir, Database: "coldtrace"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	so := schema.Options{Database: client.Database, Retention: 24 * time.Hour, Embedded: true}
	if err := schema.Migrate(ctx, client, so, nil); err != nil {
		t.Fatal(err)
	}
	opts := replaySpoolOptions(filepath.Join(dir, "spool"))
	switch step {
	case "crash":
		crashMidBatch(t, client, so, opts)
	case "replay":
		b, err := json.Marshal(replaySpool(t, client, so, opts))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s%s\n", replayCountsPrefix, b)
	default:
		t.Fatalf("unknown step %q", step)
	}
}

func replaySpoolOptions(dir string) spool.Options {
	return spool.Options{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 1 << 20}
}

// replayTraces and replaySpansPerTrace are what crashMidBatch spools:
// invocation spans of one function, so the rollups count them too.
const replayTraces, replaySpansPerTrace = 10, 10

func invocationsJSON(traceID string, n int) string {
	var b strings.Builder
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"traceId":%q,"spanId":"%016x","name":"replayed","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d",`+
			`"attributes":[{"key":"faas.trigger","value":{"stringValue":"http"}}]}`, traceID, i+1, now, now+1000)
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"replayed"}},` +
		`{"key":"faas.name","value":{"stringValue":"replayed"}}]},"scopeSpans":[{"spans":[` + b.String() + `]}]}]}`
}

// crashMidBatch is the process that crashes: it spools the traces,
// inserts them as one batch with the batch's token, and stops before
// the commit.
func crashMidBatch(t *testing.T, client *chclient.Client, so schema.Options, opts spool.Options) {
	t.Helper()
	ctx := context.Background()
	sp, err := spool.Open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for i := 0; i < replayTraces; i++ {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(invocationsJSON(fmt.Sprintf("%032x", i+1), replaySpansPerTrace)))
		if err != nil {
			t.Fatal(err)
		}
		payload, err := encodePayload("", td)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Append(ctx, payload); err != nil {
			t.Fatal(err)
		}
	}
	b, err := sp.Next(ctx, 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Begin(b); err != nil {
		t.Fatal(err)
	}
	p, err := newPipeline(DefaultConfig(), newClickHouseWriter(client, so), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	var blocks []*rows
	for _, r := range b.Records {
		rr, err := p.decodeRecord(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, rr)
	}
	if err := p.write(ctx, blocks, b.Token(), time.Second); err != nil {
		t.Fatal(err)
	}
}

// storedCounts is what the tables hold after a replay.
type storedCounts struct {
	Spans, Traces, LookupSpans, RollupInvocations uint64
}

// replaySpool is the next process: its pipeline replays the in-flight
// batch; it returns what is then stored.
func replaySpool(t *testing.T, client *chclient.Client, so schema.Options, opts spool.Options) storedCounts {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Spool = opts
	p, err := New(cfg, client, so, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.WaitStored(wait); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(wait); err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().InsertErrors.Load(); n != 0 {
		t.Fatalf("replay insert errors: %d", n)
	}
	var c storedCounts
	if err := client.QueryRow(ctx, "SELECT count(), uniqExact(TraceId) FROM "+so.Table(schema.TracesTable)).Scan(&c.Spans, &c.Traces); err != nil {
		t.Fatal(err)
	}
	if err := client.QueryRow(ctx, "SELECT sum(SpanCount) FROM "+so.Table(schema.TraceIDLookupTable)).Scan(&c.LookupSpans); err != nil {
		t.Fatal(err)
	}
	if err := client.QueryRow(ctx, "SELECT sum(Invocations) FROM "+so.Table(schema.FunctionStatsTable)).Scan(&c.RollupInvocations); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkStoredOnce(t *testing.T, got storedCounts) {
	t.Helper()
	const spans = replayTraces * replaySpansPerTrace
	if want := (storedCounts{spans, replayTraces, spans, spans}); got != want {
		t.Fatalf("after the replay: %+v; want %+v (each span stored and counted once)", got, want)
	}
}
