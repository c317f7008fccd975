package ingest

import (
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// attrMap is an attribute map as parallel key and value slices, in the
// order the sender gave them. It goes into ClickHouse Map columns through
// clickhouse-go's IterableOrderedMap, which avoids building a Go map per
// span.
type attrMap struct {
	keys, values []string
}

var _ column.IterableOrderedMap = (*attrMap)(nil)

// Put implements column.IterableOrderedMap.
func (m *attrMap) Put(k, v any) {
	m.keys = append(m.keys, k.(string))
	m.values = append(m.values, v.(string))
}

// Iterator implements column.IterableOrderedMap.
func (m *attrMap) Iterator() column.MapIterator { return &attrIter{m: m, i: -1} }

type attrIter struct {
	m *attrMap
	i int
}

func (it *attrIter) Next() bool { it.i++; return it.i < len(it.m.keys) }
func (it *attrIter) Key() any   { return it.m.keys[it.i] }
func (it *attrIter) Value() any { return it.m.values[it.i] }

// storedAttrs are one attribute map as ingest stores it: values and the
// types of the non-string ones.
type storedAttrs struct{ values, types *attrMap }

var _ schema.Attributes = storedAttrs{}

// Lookup implements schema.Attributes. With a key given twice (OTLP
// forbids it, but it arrives) the last value wins, as in the Go map a
// span read decodes the column into.
func (a storedAttrs) Lookup(key string) (value, typ string, ok bool) {
	if value, ok = a.values.last(key); ok {
		typ, _ = a.types.last(key)
	}
	return value, typ, ok
}

func (m *attrMap) last(key string) (string, bool) {
	for i := len(m.keys) - 1; i >= 0; i-- {
		if m.keys[i] == key {
			return m.values[i], true
		}
	}
	return "", false
}

func typeName(t pcommon.ValueType) string {
	switch t {
	case pcommon.ValueTypeBool:
		return schema.TypeBool
	case pcommon.ValueTypeInt:
		return schema.TypeInt
	case pcommon.ValueTypeDouble:
		return schema.TypeDouble
	case pcommon.ValueTypeBytes:
		return schema.TypeBytes
	case pcommon.ValueTypeSlice:
		return schema.TypeArray
	case pcommon.ValueTypeMap:
		return schema.TypeMap
	default:
		return ""
	}
}

// limits bound what one span may carry; see Limits.
type attrConverter struct {
	maxAttrs    int
	maxValueLen int
	truncated   int64 // attributes dropped or values cut, for metrics
}

// convert stringifies attrs as the OpenTelemetry exporter does
// (Value.AsString) and records the type of every non-string value.
func (c *attrConverter) convert(attrs pcommon.Map) (values, types attrMap) {
	n := attrs.Len()
	if n == 0 {
		return
	}
	if c.maxAttrs > 0 && n > c.maxAttrs {
		c.truncated += int64(n - c.maxAttrs)
		n = c.maxAttrs
	}
	values.keys = make([]string, 0, n)
	values.values = make([]string, 0, n)
	i := 0
	for k, v := range attrs.All() {
		if i == n {
			break
		}
		i++
		var s string
		if v.Type() == pcommon.ValueTypeStr {
			s = v.Str()
		} else {
			s = v.AsString()
			types.keys = append(types.keys, k)
			types.values = append(types.values, typeName(v.Type()))
		}
		if c.maxValueLen > 0 && len(s) > c.maxValueLen {
			s = truncateUTF8(s, c.maxValueLen)
			c.truncated++
			if v.Type() != pcommon.ValueTypeStr {
				// Cut JSON or base64 is no longer an array, map or bytes:
				// it is kept as the string it now is.
				types.keys, types.values = types.keys[:len(types.keys)-1], types.values[:len(types.values)-1]
			}
		}
		values.keys = append(values.keys, k)
		values.values = append(values.values, s)
	}
	return
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
