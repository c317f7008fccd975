package ingest

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spansWithIDs is one trace whose spans have the span ids 1..n.
func spansWithIDs(trace byte, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := 1; i <= n; i++ {
		s := ss.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{15: trace})
		s.SetSpanID(pcommon.SpanID{7: byte(i)})
	}
	return td
}

// claimNow claims td's spans, failing the test if another request holds
// some of them.
func claimNow(t *testing.T, r *recentSpans, tenant string, td ptrace.Traces) (*claim, int64) {
	t.Helper()
	c, dropped, wait := r.claim(tenant, td)
	if wait != nil {
		t.Fatal("spans claimed by another request")
	}
	return c, dropped
}

func TestRecentSpans(t *testing.T) {
	r := newRecentSpans(bucketWays) // one bucket: every span lands in it
	c, dropped := claimNow(t, r, "a", spansWithIDs(1, 3))
	if dropped != 0 || len(c.keys) != 3 {
		t.Fatalf("first request: dropped %d, %d keys", dropped, len(c.keys))
	}
	// Its store failed: a retry is stored.
	c.settle(false)
	c, dropped = claimNow(t, r, "a", spansWithIDs(1, 3))
	if dropped != 0 {
		t.Fatalf("retry of a failed request: dropped %d", dropped)
	}
	c.settle(true)
	td := spansWithIDs(1, 4)
	c, dropped = claimNow(t, r, "a", td)
	if dropped != 3 || len(c.keys) != 1 || td.SpanCount() != 1 || td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID()[7] != 4 {
		t.Fatalf("retry with one new span: dropped %d, %d keys, %d spans left", dropped, len(c.keys), td.SpanCount())
	}
	c.settle(true)
	// Another tenant's spans with the same ids are its own.
	c, dropped = claimNow(t, r, "b", spansWithIDs(1, 3))
	if dropped != 0 {
		t.Fatalf("other tenant: dropped %d", dropped)
	}
	c.settle(false)
	// Eight newer spans push the first ones out of the bucket.
	c, _ = claimNow(t, r, "a", spansWithIDs(2, 8))
	c.settle(true)
	if c, dropped = claimNow(t, r, "a", spansWithIDs(1, 4)); dropped != 0 {
		t.Fatalf("spans 8 newer spans ago: dropped %d, want them forgotten", dropped)
	}
	c.settle(false)
	if c, dropped = claimNow(t, r, "a", spansWithIDs(2, 8)); dropped != 8 {
		t.Fatalf("the last 8 spans: dropped %d, want 8", dropped)
	}
	c.settle(true)
	var off *recentSpans
	if c, dropped, wait := off.claim("a", spansWithIDs(1, 3)); c != nil || dropped != 0 || wait != nil {
		t.Fatal("disabled: claimed or dropped spans")
	}
	(*claim)(nil).settle(true)
}

// A request carrying spans that another request is storing waits for it:
// then drops them when they were stored, and stores them when not.
func TestRetryWaitsForTheFirstAttempt(t *testing.T) {
	r := newRecentSpans(1 << 10)
	first, _ := claimNow(t, r, "", spansWithIDs(1, 3))
	_, _, wait := r.claim("", spansWithIDs(1, 3))
	if wait == nil {
		t.Fatal("a retry of spans being stored did not wait")
	}
	select {
	case <-wait:
		t.Fatal("the wait ended before the first attempt was settled")
	default:
	}
	first.settle(true)
	<-wait
	if c, dropped := claimNow(t, r, "", spansWithIDs(1, 3)); dropped != 3 {
		t.Errorf("after the first attempt was stored: dropped %d, want 3", dropped)
	} else {
		c.settle(true)
	}
	failed, _ := claimNow(t, r, "", spansWithIDs(2, 2))
	_, _, wait = r.claim("", spansWithIDs(2, 2))
	failed.settle(false)
	<-wait
	if c, dropped := claimNow(t, r, "", spansWithIDs(2, 2)); dropped != 0 || len(c.keys) != 2 {
		t.Errorf("after the first attempt failed: dropped %d, want the retry stored", dropped)
	}
}

// nthSpan is a request of one span, the nth of a series with distinct ids.
func nthSpan(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{0: byte(n), 1: byte(n >> 8), 2: byte(n >> 16), 15: 1})
	s.SetSpanID(pcommon.SpanID{7: 1})
	return td
}

// TestRecentSpansRemembersTheLastQuarter checks the table's memory: a span
// is remembered after slots/4 newer ones with a probability of 99.9 %, after
// slots/2 of 95 %, so of all the last slots/4 more than 99 % (99.98 % when
// measured), of the last slots/2 more than 93 % (99.2 %).
func TestRecentSpansRemembersTheLastQuarter(t *testing.T) {
	const slots = 1 << 16
	r := newRecentSpans(slots)
	for i := 0; i < slots; i++ {
		c, _ := claimNow(t, r, "", nthSpan(i))
		c.settle(true)
	}
	remembered := func(last int) float64 {
		n := 0
		for i := slots - last; i < slots; i++ {
			c, dropped := claimNow(t, r, "", nthSpan(i))
			c.settle(false)
			if dropped == 1 {
				n++
			}
		}
		return float64(n) / float64(last)
	}
	q, h := remembered(slots/4), remembered(slots/2)
	t.Logf("remembered %.2f %% of the last quarter, %.2f %% of the last half", 100*q, 100*h)
	if q < 0.99 || h < 0.93 {
		t.Errorf("remembered %.2f %% of the last quarter, %.2f %% of the last half", 100*q, 100*h)
	}
}

// BenchmarkRecentSpans is the cost of claim and settle for a
// request of 100 new spans (divide ns/op by 100 for a span), with the
// table filling and turning over as in a long run.
func BenchmarkRecentSpans(b *testing.B) {
	r := newRecentSpans(DefaultConfig().RecentSpans)
	td := spansWithIDs(0, 100)
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// New ids in place: every span is new, so none is removed.
		for j := 0; j < ss.Len(); j++ {
			ss.At(j).SetTraceID(pcommon.TraceID{0: byte(i), 1: byte(i >> 8), 2: byte(i >> 16), 3: byte(i >> 24), 15: byte(j)})
		}
		c, _, _ := r.claim("tenant", td)
		c.settle(true)
	}
}
