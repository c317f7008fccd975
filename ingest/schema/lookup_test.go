package schema

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// lookupTotals sums a trace-id lookup: traces, spans, the span time range
// and the services, from table (merged rows or not, as reads see them).
// The services are sorted: groupUniqArray's order depends on how the
// engine split the work, so unsorted it differs between equal tables.
func lookupTotals(t *testing.T, c *chclient.Client, table string) string {
	t.Helper()
	return queryString(t, c, `SELECT toString((count(), sum(n), sum(toUInt64(s)), sum(toUInt64(e)), arraySort(groupUniqArrayArray(svcs)))) FROM (
		SELECT TraceId, sum(SpanCount) AS n, min(Start) AS s, max(End) AS e, groupUniqArrayArray(Services) AS svcs
		FROM `+table+` GROUP BY TraceId)`)
}

// A database at version 2 moves its trace-id lookup to the table with
// 1,024-row granules: the rows are copied, the exporter's name becomes a
// view of the new table, new spans reach it through the new view only,
// and running migrations 3 and 4 again copies nothing twice.
func TestTraceIDLookupMoves(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	migrateTo(t, c, o, 2)
	insertInvocations(t, c, o, "before", 3, 50)
	old, lookup := o.Table(TraceIDTimesTable), o.Table(TraceIDLookupTable)
	before := lookupTotals(t, c, old)
	if !strings.HasPrefix(before, "(150,150,") {
		t.Fatalf("old lookup before the move: %s", before)
	}
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	if got := lookupTotals(t, c, lookup); got != before {
		t.Fatalf("moved lookup %s, old one %s", got, before)
	}
	var engine, query string
	if err := c.QueryRow(ctx, "SELECT engine, create_table_query FROM system.tables WHERE database = ? AND name = ?", c.Database, TraceIDTimesTable).Scan(&engine, &query); err != nil {
		t.Fatal(err)
	}
	if engine != "View" {
		t.Errorf("%s is a %s, want a View", TraceIDTimesTable, engine)
	}
	if err := c.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = ? AND name = ?", c.Database, TraceIDLookupTable).Scan(&query); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(query, "index_granularity = 1024") {
		t.Errorf("lookup table: %s", query)
	}
	var oldView uint8
	if err := c.QueryRow(ctx, "EXISTS TABLE "+o.Table(TraceIDTimesView)).Scan(&oldView); err != nil || oldView != 0 {
		t.Errorf("old lookup view still exists (%d, %v)", oldView, err)
	}

	insertInvocations(t, c, o, "after", 1, 20)
	after := lookupTotals(t, c, lookup)
	if !strings.HasPrefix(after, "(170,170,") {
		t.Fatalf("lookup after new spans: %s", after)
	}
	if got := lookupTotals(t, c, old); got != after {
		t.Fatalf("the exporter's name reads %s, the lookup holds %s", got, after)
	}
	runAgain(t, c, o, Migrations[2:4]...)
	if got := lookupTotals(t, c, lookup); got != after {
		t.Fatalf("after running migrations 3 and 4 again: %s, want %s", got, after)
	}
}

// Migration 13: the lookup says whether any span of a trace has events
// or links, so a trace read can leave those columns out. Rows stored
// before it say "maybe" (1) for both, and keep saying it once merged
// with newer rows that have neither.
func TestTraceIDLookupKnowsEventsAndLinks(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	migrateTo(t, c, o, 12)
	span := func(trace, events, links string) {
		t.Helper()
		if err := c.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName,
			`+"`Events.Timestamp`, `Events.Name`, `Events.Attributes`, `Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`"+`)
			VALUES (now64(9), '%s', lower(hex(randomString(8))), 'svc', 'op', %s, %s)`,
			o.Table(TracesTable), trace, events, links)); err != nil {
			t.Fatal(err)
		}
	}
	const (
		noEvents = "[], [], []"
		anEvent  = "[now64(9)], ['log'], [map('message', 'hi')]"
		noLinks  = "[], [], [], []"
		aLink    = "['0af7651916cd43dd8448eb211c80319c'], ['b7ad6b7169203331'], [''], [map()]"
	)
	span("old", noEvents, noLinks)
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	span("old", noEvents, noLinks)
	span("plain", noEvents, noLinks)
	span("plain", noEvents, noLinks)
	span("events", noEvents, noLinks)
	span("events", anEvent, noLinks)
	span("links", noEvents, aLink)
	span("both", anEvent, aLink)
	want := "[('both',1,1),('events',1,0),('links',0,1),('old',1,1),('plain',0,0)]"
	read := func() string {
		return queryString(t, c, `SELECT toString(groupArray((TraceId, e, l))) FROM (
			SELECT TraceId, max(HasEvents) AS e, max(HasLinks) AS l FROM `+o.Table(TraceIDLookupTable)+`
			GROUP BY TraceId ORDER BY TraceId)`)
	}
	if got := read(); got != want {
		t.Errorf("lookup: %s, want %s", got, want)
	}
	if err := c.Exec(ctx, "OPTIMIZE TABLE "+o.Table(TraceIDLookupTable)+" FINAL"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != want {
		t.Errorf("merged lookup: %s, want %s", got, want)
	}
}
