package schema

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chtest"
)

// The attribute filters of a search skip granules by the values of span
// and resource attributes: alone, and as the either-map form Jaeger's tag
// search uses (ClickHouse combines both indexes across the OR: the last
// skip step of the plan is the combined one).
func TestAttributeIndexesSkipGranules(t *testing.T) {
	c := chtest.Client(t)
	ctx := context.Background()
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	// One part of 4 granules (1,024 rows each, ordered by trace id), each
	// granule with its own resource and span attribute values.
	err := c.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (Timestamp, TraceId, SpanId, ServiceName, SpanName, ResourceAttributes, SpanAttributes)
		SELECT now64(9), leftPad(hex(number), 32, '0'), hex(number), 'svc', 'op',
			map('deployment.id', concat('d', toString(intDiv(number, 1024)))), map('batch.id', concat('b', toString(intDiv(number, 1024))))
		FROM numbers(4096)`, o.Table(TracesTable)))
	if err != nil {
		t.Fatal(err)
	}
	granules := regexp.MustCompile(`Name: ([^\n]+)\n\s+Description: [^\n]*\n\s+Parts: \d+/\d+\n\s+Granules: (\d+)/(\d+)`)
	for _, where := range []string{
		"SpanAttributes['batch.id'] = 'b2'",
		"ResourceAttributes['deployment.id'] = 'd2'",
		"(SpanAttributes['deployment.id'] = 'd2' OR ResourceAttributes['deployment.id'] = 'd2')",
	} {
		var plan []string
		rows, err := c.Query(ctx, "EXPLAIN indexes = 1 SELECT count() FROM "+o.Table(TracesTable)+" WHERE "+where)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		m := granules.FindAllStringSubmatch(text, -1)
		if len(m) == 0 || m[len(m)-1][2] != "1" || m[len(m)-1][3] != "4" {
			t.Errorf("%s: want a skip index leaving 1 of 4 granules:\n%s", where, text)
		}
	}
}
