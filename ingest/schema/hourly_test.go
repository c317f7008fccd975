package schema

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// rollupTotals sums a rollup per function: its counts, and the p95 of
// the merged duration digests in units of 4 ms (t-digests merged
// by the hour first need not give the same estimate to the nanosecond;
// the durations run from 1 to 100 ms, so p95 is ~95.5 ms: 24 units).
func rollupTotals(t *testing.T, c *chclient.Client, table string) string {
	t.Helper()
	return queryString(t, c, `SELECT toString(arraySort(groupArray((FunctionName, inv, cold, dur, p95)))) FROM (
		SELECT FunctionName, sum(Invocations) AS inv, sum(ColdStarts) AS cold, sum(DurationSum) AS dur,
			round(quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(DurationQuantiles)[3] / 4e6) AS p95
		FROM `+table+` GROUP BY FunctionName)`)
}

// queryString is the one string value sql returns.
func queryString(t *testing.T, c *chclient.Client, sql string) string {
	t.Helper()
	var out string
	if err := c.QueryRow(context.Background(), sql).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ttlTablesAt are the tables whose TTL Migrate kept up to version 2.
var ttlTablesAt = map[uint32][]struct{ table, expr string }{
	1: {{TracesTable, "toDateTime(Timestamp)"}, {TraceIDTimesTable, "Start"}, {FunctionStatsTable, "Minute"}},
	2: {{TracesTable, "toDateTime(Timestamp)"}, {TraceIDTimesTable, "Start"}, {FunctionStatsTable, "Minute"}, {HourlyFunctionStatsTable, "Hour"}},
}

// migrateTo brings o's database to version as it was released: its
// migrations and its tables' TTLs.
func migrateTo(t *testing.T, c *chclient.Client, o Options, version uint32) {
	t.Helper()
	allMigrations, allTTLs := Migrations, ttlTables
	Migrations, ttlTables = allMigrations[:version], ttlTablesAt[version]
	err := Migrate(context.Background(), c, o, nil)
	Migrations, ttlTables = allMigrations, allTTLs
	if err != nil {
		t.Fatal(err)
	}
}

// runAgain runs the statements of migrations ms once more, as a rerun
// after a failure part-way would.
func runAgain(t *testing.T, c *chclient.Client, o Options, ms ...Migration) {
	t.Helper()
	for _, m := range ms {
		stmts, err := m.Statements(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if err := c.Exec(context.Background(), s); err != nil {
				t.Fatalf("migration %d again: %v\n%s", m.Version, err, s)
			}
		}
	}
}

// insertInvocations stores n invocations of fn per hour over the last
// hours, through otel_traces and the per-minute view.
func insertInvocations(t *testing.T, c *chclient.Client, o Options, fn string, hours, n int) {
	t.Helper()
	err := c.Exec(context.Background(), fmt.Sprintf(`INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName, SpanKind, ResourceAttributes, SpanAttributes, Duration)
		SELECT now64(9) - toIntervalSecond(number * 3600 / %d), lower(hex(randomString(16))), lower(hex(randomString(8))), '%s', '%s', 'Server',
			map('faas.name', '%s', 'faas.version', '1'), map('faas.trigger', 'http', 'faas.coldstart', if(number %% 10 = 0, 'true', 'false')), (number %% 100 + 1) * 1000000
		FROM numbers(%d)`, o.Table(TracesTable), n, fn, fn, fn, hours*n))
	if err != nil {
		t.Fatal(err)
	}
}

// A database at version 1 gains the hourly rollup, backfilled from the
// per-minute one; the view keeps it in step afterwards, and running the
// migration's statements again stores nothing twice.
func TestHourlyRollupBackfillAndView(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	migrateTo(t, c, o, 1)
	insertInvocations(t, c, o, "before", 30, 40)
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	minute, hourly := o.Table(FunctionStatsTable), o.Table(HourlyFunctionStatsTable)
	if got, want := rollupTotals(t, c, hourly), rollupTotals(t, c, minute); got != want {
		t.Fatalf("backfilled hourly rollup %s, per-minute %s", got, want)
	}
	insertInvocations(t, c, o, "after", 5, 100)
	want := rollupTotals(t, c, minute)
	if got := rollupTotals(t, c, hourly); got != want {
		t.Fatalf("hourly rollup %s, per-minute %s", got, want)
	}
	runAgain(t, c, o, Migrations[1])
	if got := rollupTotals(t, c, hourly); got != want {
		t.Fatalf("after running migration 2 again: hourly rollup %s, per-minute %s", got, want)
	}
	var rows, hours uint64
	if err := c.QueryRow(ctx, "SELECT count(), uniqExact(Hour) FROM "+hourly+" FINAL").Scan(&rows, &hours); err != nil {
		t.Fatal(err)
	}
	if hours < 30 || rows > 2*(hours+1) {
		t.Fatalf("hourly rollup: %d rows over %d hours", rows, hours)
	}
}
