package server

import (
	"fmt"
	"strconv"

	"github.com/coldtrace/coldtrace/query/api"
)

// traceShape follows the span and parent ids of one trace as it streams,
// to warn of what its reader would otherwise take for a whole trace:
// spans stored for it that are gone (spans are dropped a day at a time,
// so a trace that crosses midnight UTC loses its first part a day before
// the rest), spans whose parent is not in it (not received yet, or lost),
// and spans stored twice (a sender's retry that ingest did not
// recognise). Ids are kept as integers: 16 bytes a span rather than a
// string's ~60.
type traceShape struct {
	ids          map[uint64]struct{}
	parents      []uint64
	unparsed     map[string]struct{} // ids that are not 16 hex digits
	unparsedRefs []string
	repeated     int
	hasRoot      bool // a span without a parent
	spans        uint64
}

func (t *traceShape) add(sp *api.Span) {
	t.spans++
	if t.ids == nil {
		t.ids, t.unparsed = map[uint64]struct{}{}, map[string]struct{}{}
	}
	if id, err := strconv.ParseUint(sp.SpanID, 16, 64); err == nil {
		if _, ok := t.ids[id]; ok {
			t.repeated++
		}
		t.ids[id] = struct{}{}
	} else {
		if _, ok := t.unparsed[sp.SpanID]; ok {
			t.repeated++
		}
		t.unparsed[sp.SpanID] = struct{}{}
	}
	if sp.ParentSpanID == "" {
		t.hasRoot = true
		return
	}
	if p, err := strconv.ParseUint(sp.ParentSpanID, 16, 64); err == nil {
		t.parents = append(t.parents, p)
	} else {
		t.unparsedRefs = append(t.unparsedRefs, sp.ParentSpanID)
	}
}

// warnings says what is wrong with the trace, nil when nothing; stored is
// how many spans the trace-id lookup counts for it when that is more than
// it holds and the count is its tenant's alone (SpanStream.StoredSpans;
// 0: none gone, or unknown).
//
// A trace without a root whose spans all hang from one missing span is
// taken as whole when none of its stored spans is gone: its root is a
// caller's span that Coldtrace never received (a function invoked with
// an outside traceparent), which is common and not a loss.
func (t *traceShape) warnings(stored uint64) []string {
	orphans := 0
	missing := map[uint64]bool{}
	for _, p := range t.parents {
		if _, ok := t.ids[p]; !ok {
			orphans++
			missing[p] = true
		}
	}
	missingUnparsed := map[string]bool{}
	for _, p := range t.unparsedRefs {
		if _, ok := t.unparsed[p]; !ok {
			orphans++
			missingUnparsed[p] = true
		}
	}
	var w []string
	switch {
	case stored > t.spans:
		w = append(w, fmt.Sprintf("%s of the %d stored for this trace %s gone: the trace is incomplete (expired before the rest of it, or lost)",
			count(stored-t.spans, "span"), stored, verb(stored-t.spans, "is", "are")))
	case orphans > 0 && (t.hasRoot || len(missing)+len(missingUnparsed) > 1):
		w = append(w, fmt.Sprintf("%s %s a parent span that is not in the trace: the trace is incomplete (spans not received yet, or lost)",
			count(uint64(orphans), "span"), verb(uint64(orphans), "names", "name")))
	}
	if t.repeated > 0 {
		w = append(w, fmt.Sprintf("%s %s the id of another span of the trace (a sender's retry stored twice)",
			count(uint64(t.repeated), "span"), verb(uint64(t.repeated), "repeats", "repeat")))
	}
	return w
}

// count is "1 span", "2 spans".
func count(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func verb(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
