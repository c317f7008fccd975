package reader

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/query/api"
)

// attributeScanRows bounds how many spans attribute discovery reads: keys
// and values are for editors' dropdowns, a sample of this size finds the
// ones that matter without scanning a whole busy window.
const attributeScanRows = 2_000_000

// maxAttributeKeys bounds the keys returned.
const maxAttributeKeys = 1000

// sampleSettings make a discovery query stop reading at
// attributeScanRows instead of failing.
var sampleSettings = fmt.Sprintf(" SETTINGS max_rows_to_read = %d, read_overflow_mode = 'break'", attributeScanRows)

// AttributeKeys lists span and resource attribute keys of spans in w
// (of service, if set), most frequent first.
func (r *Reader) AttributeKeys(ctx context.Context, service string, w Window) ([]api.AttributeKey, error) {
	where := "TenantId = @tenant AND " + inWindow
	args := windowArgs(w)
	if service != "" {
		where += " AND ServiceName = @service"
		args = append(args, clickhouse.Named("service", service))
	}
	sql := `SELECT key, scope, topK(1)(type)[1] AS t, count() AS n FROM (
    SELECT arrayJoin(arrayConcat(
        arrayMap(k -> (k, 'span', SpanAttributeTypes[k]), mapKeys(SpanAttributes)),
        arrayMap(k -> (k, 'resource', ResourceAttributeTypes[k]), mapKeys(ResourceAttributes)))) AS a,
        a.1 AS key, a.2 AS scope, if(a.3 = '', 'string', a.3) AS type
    FROM ` + r.spans + `
    WHERE ` + where + `
)
GROUP BY key, scope
ORDER BY n DESC, key, scope
LIMIT @maxKeys` + sampleSettings
	out := []api.AttributeKey{}
	err := r.each(ctx, "attribute keys", sql, append(args, clickhouse.Named("maxKeys", maxAttributeKeys)), func(rows driver.Rows) error {
		var a api.AttributeKey
		err := rows.Scan(&a.Key, &a.Scope, &a.Type, &a.Count)
		out = append(out, a)
		return err
	})
	return out, err
}

// AttributeValues lists the most frequent values of key in spans in w
// (of service, if set; in scope, if set: api.ScopeSpan or
// api.ScopeResource).
func (r *Reader) AttributeValues(ctx context.Context, key, service, scope string, limit int, w Window) ([]api.AttributeValue, error) {
	where := "TenantId = @tenant AND " + inWindow
	args := append(windowArgs(w), clickhouse.Named("key", key), clickhouse.Named("limit", limit))
	if service != "" {
		where += " AND ServiceName = @service"
		args = append(args, clickhouse.Named("service", service))
	}
	var values string
	switch scope {
	case api.ScopeSpan:
		values = "arrayFilter(v -> v.1, [(mapContains(SpanAttributes, @key), SpanAttributes[@key])])"
	case api.ScopeResource:
		values = "arrayFilter(v -> v.1, [(mapContains(ResourceAttributes, @key), ResourceAttributes[@key])])"
	default:
		values = "arrayFilter(v -> v.1, [(mapContains(SpanAttributes, @key), SpanAttributes[@key]), (mapContains(ResourceAttributes, @key), ResourceAttributes[@key])])"
	}
	sql := `SELECT arrayJoin(` + values + `).2 AS value, count() AS n
FROM ` + r.spans + `
WHERE ` + where + `
GROUP BY value
ORDER BY n DESC, value
LIMIT @limit` + sampleSettings
	out := []api.AttributeValue{}
	err := r.each(ctx, "attribute values", sql, args, func(rows driver.Rows) error {
		var v api.AttributeValue
		err := rows.Scan(&v.Value, &v.Count)
		out = append(out, v)
		return err
	})
	return out, err
}
