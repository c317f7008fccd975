package schema

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// Merges of Coldtrace's tables build no column statistics (migration 7),
// so no query has statistics to load. The embedded engine, ClickHouse
// 26.5, builds them by default: without the migration every column of a
// merged part has some.
func TestMergesBuildNoColumnStatistics(t *testing.T) {
	c, o := twoPartsOfEachTable(t)
	ctx := context.Background()
	for _, table := range []string{TracesTable, TraceIDLookupTable, FunctionStatsTable, HourlyFunctionStatsTable} {
		if err := c.Exec(ctx, "OPTIMIZE TABLE "+o.Table(table)+" FINAL"); err != nil {
			t.Fatal(err)
		}
		// One part per partition: the spans go two hours back, so
		// between 00:00 and 02:00 UTC they span two days' partitions.
		got := queryString(t, c, fmt.Sprintf(`SELECT toString((uniqExact(name) = uniqExact(partition), countIf(notEmpty(statistics)), groupUniqArrayIf(column, notEmpty(statistics))))
			FROM system.parts_columns WHERE database = '%s' AND table = '%s' AND active`, c.Database, table))
		if got != "(1,0,[])" {
			t.Errorf("%s: (merged to one part per partition, columns with statistics, those columns) = %s, want merged and none", table, got)
		}
	}
}

// twoPartsOfEachTable migrates a new database and inserts into it twice:
// two parts of each table, for OPTIMIZE to merge.
func twoPartsOfEachTable(t *testing.T) (*chclient.Client, Options) {
	t.Helper()
	c := chtest.Client(t)
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := Migrate(context.Background(), c, o, nil); err != nil {
		t.Fatal(err)
	}
	insertInvocations(t, c, o, "first", 2, 50)
	insertInvocations(t, c, o, "second", 2, 50)
	return c, o
}

// A migration that changes a MergeTree setting the server does not have
// waits, unrecorded, for a server that has it; the ones after it run.
func TestMigrationForAnUnknownSettingWaits(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	next := Migrations[len(Migrations)-1].Version + 1
	waiting := Migration{Version: next, Description: "needs a newer server", SQL: "SELECT throwIf(1, 'ran without its setting')",
		RequiresSetting: "coldtrace_test_no_such_setting"}
	after := Migration{Version: next + 1, Description: "runs", SQL: "SELECT 1"}
	for range 2 {
		if err := apply(ctx, c, o, []Migration{waiting, after}, slog.Default()); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := AppliedVersions(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if applied[waiting.Version] || !applied[after.Version] {
		t.Errorf("recorded: waiting %v (want false), after %v (want true)", applied[waiting.Version], applied[after.Version])
	}
	waiting.RequiresSetting = "auto_statistics_types" // one the engine has
	if err := apply(ctx, c, o, []Migration{waiting, after}, slog.Default()); err == nil || !strings.Contains(err.Error(), "ran without its setting") {
		t.Errorf("a migration whose setting the server has did not run: %v", err)
	}
}
