package schema

import (
	"context"
	"fmt"
	"testing"
)

// Strings of the spans and the trace-id lookup keep their lengths inline
// (migration 9): no column of an inserted or a merged part has a length
// stream of its own. The embedded engine, ClickHouse 26.5, writes one by
// default: without the migration every String column of both has one.
func TestStringsKeepTheirLengthsInline(t *testing.T) {
	c, o := twoPartsOfEachTable(t)
	ctx := context.Background()
	for _, table := range []string{TracesTable, TraceIDLookupTable} {
		lengthStreams := fmt.Sprintf(`SELECT toString((count(), arraySort(groupUniqArrayIf(column, arrayExists(s -> endsWith(s, '.size'), substreams)))))
			FROM system.parts_columns WHERE database = '%s' AND table = '%s' AND active`, c.Database, table)
		check := func(parts string) {
			if got := queryString(t, c, lengthStreams); got[len(got)-3:] != "[])" || got == "(0,[])" {
				t.Errorf("%s, %s: (columns, those with a length stream) = %s, want none", table, parts, got)
			}
		}
		check("inserted parts")
		if err := c.Exec(ctx, "OPTIMIZE TABLE "+o.Table(table)+" FINAL"); err != nil {
			t.Fatal(err)
		}
		check("merged part")
	}
}
