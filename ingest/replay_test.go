package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/ingest/spool"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// A crash between a spool batch's insert and its commit makes the next
// process insert the batch again; its deduplication token makes
// ClickHouse keep one copy, in the span table and in the rollups.
func TestReplayAfterCrashStoresOnce(t *testing.T) {
	client := chtest.Client(t)
	so := schema.Options{Database: client.Database, Retention: 24 * time.Hour}
	ctx := context.Background()
	if err := schema.Migrate(ctx, client, so, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := spool.Options{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 1 << 20}

	// First process: append, insert with the batch's token, die before
	// Commit.
	sp, err := spool.Open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		td, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(spansJSONService(fmt.Sprintf("%032x", i+1), "replayed", 10)))
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
	first, err := newPipeline(DefaultConfig(), newClickHouseWriter(client, so), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(ctx)
	var blocks []*rows
	for _, r := range b.Records {
		rr, err := first.decodeRecord(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, rr)
	}
	if err := first.write(ctx, blocks, b.Token(), time.Second); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	// Second process: the pipeline replays the in-flight batch.
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
	var spans, traces, lookups uint64
	if err := client.QueryRow(ctx, "SELECT count(), uniqExact(TraceId) FROM "+so.Table(schema.TracesTable)).Scan(&spans, &traces); err != nil {
		t.Fatal(err)
	}
	if err := client.QueryRow(ctx, "SELECT sum(SpanCount) FROM "+so.Table(schema.TraceIDLookupTable)).Scan(&lookups); err != nil {
		t.Fatal(err)
	}
	if spans != 100 || traces != 10 || lookups != 100 {
		t.Fatalf("after the replay: %d spans of %d traces, lookup counts %d spans; want 100, 10, 100", spans, traces, lookups)
	}
	if p.Stats().InsertErrors.Load() != 0 {
		t.Fatalf("replay insert errors: %d", p.Stats().InsertErrors.Load())
	}
}
