package schema_test

import (
	"context"
	"fmt"
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
	// A database a newer binary migrated further is refused (a downgrade).
	if err := c.Exec(ctx, fmt.Sprintf("INSERT INTO %s (Version, Description, AppliedAt) VALUES (999, 'from the future', now())", o.Table(schema.MigrationsTable))); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, c, o, nil); err == nil || !strings.Contains(err.Error(), "the database is at migration 999, newer than this binary knows") {
		t.Fatalf("migrating a database from a newer binary: %v", err)
	}
	if err := c.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DELETE WHERE Version = 999 SETTINGS mutations_sync = 2", o.Table(schema.MigrationsTable))); err != nil {
		t.Fatal(err)
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

// A retention change sets every table's TTL and recomputes the expiry of
// the parts already stored: raising it keeps them longer, lowering it
// expires them sooner.
func TestRetentionChangeUpdatesTTL(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 48 * time.Hour}
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-30 * time.Hour).Truncate(time.Second)
	if err := c.Exec(ctx, fmt.Sprintf("INSERT INTO %s (Timestamp, TraceId, SpanId) VALUES (fromUnixTimestamp64Nano(%d), 'aa', 'bb')",
		o.Table(schema.TracesTable), at.UnixNano())); err != nil {
		t.Fatal(err)
	}
	partsExpire := func(want time.Time) {
		t.Helper()
		var got time.Time
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if err := c.QueryRow(ctx, "SELECT max(delete_ttl_info_max) FROM system.parts WHERE database = ? AND table = ? AND active",
				c.Database, schema.TracesTable).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got.Equal(want) {
				return
			}
		}
		t.Fatalf("stored spans expire at %s, want %s", got, want)
	}
	partsExpire(at.Add(48 * time.Hour))
	for _, r := range []time.Duration{7 * 24 * time.Hour, 40 * time.Hour} {
		o.Retention = r
		if err := schema.Migrate(ctx, c, o, nil); err != nil {
			t.Fatal(err)
		}
		for _, tbl := range []string{schema.TracesTable, schema.TraceIDLookupTable, schema.FunctionStatsTable, schema.HourlyFunctionStatsTable} {
			var full string
			if err := c.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", c.Database, tbl).Scan(&full); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("toIntervalSecond(%d)", int64(r/time.Second)); !strings.Contains(full, want) {
				t.Errorf("%s TTL not updated to %s: %s", tbl, want, full)
			}
		}
		partsExpire(at.Add(r))
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

// An hour's row of the hourly rollup expires with the hour's end, as the
// last minute it sums does, not with its start.
func TestHourlyRollupExpiresWithItsLastMinute(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := schema.Options{Database: c.Database, Retention: 48 * time.Hour}
	if err := schema.Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-3 * time.Hour).Truncate(time.Hour).Add(59 * time.Minute)
	if err := c.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName, ResourceAttributes, SpanAttributes)
VALUES (fromUnixTimestamp64Nano(%d), 'aa', 'bb', 'fn', 'fn', map('faas.name', 'fn'), map('faas.trigger', 'http'))`,
		o.Table(schema.TracesTable), at.UnixNano())); err != nil {
		t.Fatal(err)
	}
	expiry := func(table string) time.Time {
		var got time.Time
		if err := c.QueryRow(ctx, "SELECT max(delete_ttl_info_max) FROM system.parts WHERE database = ? AND table = ? AND active",
			c.Database, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := expiry(schema.HourlyFunctionStatsTable), at.Truncate(time.Hour).Add(time.Hour+48*time.Hour); !got.Equal(want) {
		t.Errorf("hourly rollup expires at %s, want %s", got, want)
	}
	if minute, hour := expiry(schema.FunctionStatsTable), expiry(schema.HourlyFunctionStatsTable); hour.Before(minute) {
		t.Errorf("the hour expires at %s, before its last minute at %s", hour, minute)
	}
}
