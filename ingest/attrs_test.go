package ingest

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A value cut by the length limit is kept as the string it now is: cut
// JSON is no longer an array or a map, cut base64 no longer bytes.
func TestCutValuesBecomeStrings(t *testing.T) {
	m := pcommon.NewMap()
	long := m.PutEmptySlice("long")
	long.AppendEmpty().SetStr("abcdefghij")
	long.AppendEmpty().SetStr("klmnopqrstu")
	m.PutEmptySlice("short").AppendEmpty().SetStr("ab")
	m.PutEmptyBytes("blob").FromRaw(make([]byte, 30))
	m.PutInt("n", 42)
	c := attrConverter{maxValueLen: 20}
	values, types := c.convert(m)
	got := map[string]string{}
	for i, k := range types.keys {
		got[k] = types.values[i]
	}
	want := map[string]string{"short": "array", "n": "int"}
	if len(got) != len(want) || got["short"] != want["short"] || got["n"] != want["n"] {
		t.Errorf("types %v, want %v", got, want)
	}
	for i, k := range values.keys {
		if k == "long" && values.values[i] != `["abcdefghij","klmno` {
			t.Errorf("cut value %q", values.values[i])
		}
	}
	if c.truncated != 2 {
		t.Errorf("%d values counted as cut, want 2", c.truncated)
	}
}
