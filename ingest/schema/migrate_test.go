package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

func TestMigrateIsIdempotentAndRecorded(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	for i := 0; i < 2; i++ {
		if err := schema.Migrate(ctx, c, o, nil); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	applied, err := schema.AppliedVersions(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range schema.Migrations {
		if !applied[m.Version] {
			t.Errorf("migration %d not recorded", m.Version)
		}
	}
	var n uint64
	if err := c.QueryRow(ctx, "SELECT count() FROM "+o.Table(schema.MigrationsTable)+" FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(schema.Migrations)) {
		t.Errorf("%d migration records, want %d", n, len(schema.Migrations))
	}
	for _, tbl := range []string{schema.TracesTable, schema.TraceIDLookupTable, schema.TraceIDLookupView, schema.TraceIDTimesTable, schema.FunctionStatsTable, schema.FunctionStatsView,
		schema.HourlyFunctionStatsTable, schema.HourlyFunctionStatsView} {
		var exists uint8
		if err := c.QueryRow(ctx, "EXISTS TABLE "+o.Table(tbl)).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != 1 {
			t.Errorf("table %s missing", tbl)
		}
	}
}

func TestRetentionChangeUpdatesTTL(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	o.Retention = 48 * time.Hour
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{schema.TracesTable, schema.TraceIDLookupTable, schema.FunctionStatsTable, schema.HourlyFunctionStatsTable} {
		var full string
		if err := c.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", c.Database, tbl).Scan(&full); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(full, "toIntervalSecond(172800)") {
			t.Errorf("%s TTL not updated: %s", tbl, full)
		}
	}
}

// The exporter's own insert (its 22 columns, nothing else) must work and
// fill the typed serverless columns from the attribute maps.
func TestExporterShapedInsertFillsTypedColumns(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 24 * time.Hour}
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Exec(ctx, `INSERT INTO `+o.Table(schema.TracesTable)+` (Timestamp, TraceId, SpanId, ServiceName, SpanName, SpanKind, ResourceAttributes, SpanAttributes, Duration, StatusCode)
		VALUES (now64(9), 'aaaabbbbccccddddeeeeffff00001111', '0011223344556677', 'fn', 'fn', 'Server',
		map('faas.name','fn','faas.version','3','faas.max_memory','134217728'),
		map('faas.trigger','http','faas.coldstart','true','error.type','timeout','coldtrace.init_duration_ms','12.5','coldtrace.billed_duration_ms','113'),
		100000000, 'Error')`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		fn, ver, errType string
		inv, cold        bool
		initMs           float64
		billed, mem      uint64
	)
	if err := c.QueryRow(ctx, "SELECT FunctionName, FunctionVersion, IsInvocation, ColdStart, ErrorType, InitDurationMs, BilledDurationMs, MemoryLimitBytes FROM "+o.Table(schema.TracesTable)).
		Scan(&fn, &ver, &inv, &cold, &errType, &initMs, &billed, &mem); err != nil {
		t.Fatal(err)
	}
	if fn != "fn" || ver != "3" || !inv || !cold || errType != "timeout" || initMs != 12.5 || billed != 113 || mem != 134217728 {
		t.Fatalf("typed columns: %v %v %v %v %v %v %v %v", fn, ver, inv, cold, errType, initMs, billed, mem)
	}
	var invocations, timeouts, coldStarts uint64
	var gbs float64
	if err := c.QueryRow(ctx, "SELECT sum(Invocations), sum(Timeouts), sum(ColdStarts), sum(BilledGBSeconds) FROM "+o.Table(schema.FunctionStatsTable)+" WHERE FunctionName = 'fn'").
		Scan(&invocations, &timeouts, &coldStarts, &gbs); err != nil {
		t.Fatal(err)
	}
	if invocations != 1 || timeouts != 1 || coldStarts != 1 {
		t.Fatalf("rollup: invocations %d timeouts %d cold %d", invocations, timeouts, coldStarts)
	}
	if want := 0.113 * 0.125; gbs < want*0.999 || gbs > want*1.001 {
		t.Fatalf("billed GB-s %v, want %v", gbs, want)
	}
}

// Spans are written in compressed blocks of 16 KB and up (migration 6):
// trace by id decompresses 43 % as much as with 64 KB ones.
func TestSmallCompressedBlocks(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 24 * time.Hour}
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]string{
		schema.TracesTable:        "min_compress_block_size = 16384",
		schema.TraceIDLookupTable: "min_compress_block_size = 4096, max_compress_block_size = 16384",
	} {
		var full string
		if err := c.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", c.Database, table).Scan(&full); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(full, want) {
			t.Errorf("%s: no %s in %s", table, want, full)
		}
	}
}
