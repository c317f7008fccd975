package schema

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chtest"
)

// A database from a release that changed the retention without touching
// stored parts (a part keeping an earlier, shorter expiry while the table
// says the current retention) is set right by migration 12; and a TTL an
// older binary rewrote on another expression (the hourly rollup's before
// migration 11) is rewritten though its interval is the current one.
func TestStaleExpiryFromOlderReleases(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := c.Exec(ctx, databaseStatement(o)); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, historyStatement(o)); err != nil {
		t.Fatal(err)
	}
	before12 := Migrations[:11]
	if err := apply(ctx, c, o, before12, slog.Default()); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := c.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName, ResourceAttributes, SpanAttributes)
VALUES (fromUnixTimestamp64Nano(%d), 'aa', 'bb', 'fn', 'fn', map('faas.name', 'fn'), map('faas.trigger', 'http'))`,
		o.Table(TracesTable), at.UnixNano())); err != nil {
		t.Fatal(err)
	}
	// What an older release did: a 2 h retention materialized, then 7 d
	// set without touching the parts; the hourly TTL without its hour.
	for _, stmt := range []string{
		"ALTER TABLE %s MODIFY TTL toDateTime(Timestamp) + toIntervalSecond(7200) SETTINGS mutations_sync = 2",
		"ALTER TABLE %s MODIFY TTL toDateTime(Timestamp) + toIntervalSecond(604800) SETTINGS materialize_ttl_after_modify = 0",
	} {
		if err := c.Exec(ctx, fmt.Sprintf(stmt, o.Table(TracesTable))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Exec(ctx, fmt.Sprintf("ALTER TABLE %s MODIFY TTL Hour + toIntervalSecond(604800) SETTINGS materialize_ttl_after_modify = 0",
		o.Table(HourlyFunctionStatsTable))); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	var full string
	if err := c.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", c.Database, HourlyFunctionStatsTable).Scan(&full); err != nil {
		t.Fatal(err)
	}
	if want := "TTL (Hour + toIntervalHour(1)) + toIntervalSecond(604800)"; !strings.Contains(full, want) {
		t.Errorf("hourly rollup TTL after an older binary: %s, want %s", full, want)
	}
	// Every TTL now reads as the current one: a start changes nothing.
	var logged bytes.Buffer
	if err := Migrate(ctx, c, o, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "retention changed") {
		t.Errorf("a start with the same retention changed it again:\n%s", logged.String())
	}
	want := at.Add(7 * 24 * time.Hour)
	var got time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := c.QueryRow(ctx, "SELECT max(delete_ttl_info_max) FROM system.parts WHERE database = ? AND table = ? AND active",
			c.Database, TracesTable).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got.Equal(want) {
			return
		}
	}
	t.Errorf("stored spans expire at %s, want %s (the retention in force)", got, want)
}
