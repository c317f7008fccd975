package ingest

import (
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
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

// Times past what DateTime64(9) holds are capped, not wrapped into the
// past: an event at 2^64−1 ns read back in 1969, and such an end made the
// trace's duration negative.
func TestTimesPastTheEndAreCapped(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	start := pcommon.NewTimestampFromTime(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	s.SetStartTimestamp(start)
	s.SetEndTimestamp(pcommon.Timestamp(math.MaxUint64))
	s.Events().AppendEmpty().SetTimestamp(pcommon.Timestamp(math.MaxUint64))
	r := toRows(td, "", DefaultConfig().Limits)
	if end := int64(start) + int64(r.duration[0]); end != math.MaxInt64 {
		t.Errorf("end %d ns, want capped at %d", end, int64(math.MaxInt64))
	}
	if ev := r.eventsTimestamp[0][0]; ev.Year() != 2262 {
		t.Errorf("event at %s, want capped in 2262", ev)
	}
}
