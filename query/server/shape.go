package server

import (
	"fmt"
	"strconv"

	"github.com/coldtrace/coldtrace/query/api"
)

// traceShape follows the span and parent ids of one trace as it streams,
// to warn of what its reader would otherwise take for a whole trace:
// spans whose parent is not in it (not received yet, or expired before
// the rest: spans are dropped a day at a time, so a trace that crosses
// midnight UTC loses its first part a day before the rest) and spans
// stored twice (a sender's retry that ingest did not recognise). Ids are
// kept as integers: 16 bytes a span rather than a string's ~60.
type traceShape struct {
	ids          map[uint64]struct{}
	parents      []uint64
	unparsed     map[string]struct{} // ids that are not 16 hex digits
	unparsedRefs []string
	repeated     int
	hasRoot      bool // a span without a parent
}

func (t *traceShape) add(sp *api.Span) {
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

// warnings says what is wrong with the trace's shape, nil when nothing.
//
// A trace without a root whose spans all hang from one missing span is
// taken as whole: its root is a caller's span that Coldtrace never
// received (a function invoked with an outside traceparent), which is
// common and not a loss. Missing parents are reported when the trace has
// its root, or lacks two or more spans.
func (t *traceShape) warnings() []string {
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
	if !t.hasRoot && len(missing)+len(missingUnparsed) == 1 {
		orphans = 0
	}
	var w []string
	if orphans > 0 {
		w = append(w, fmt.Sprintf("%d spans name a parent span that is not in the trace: the trace is incomplete (spans not received, or expired before the rest)", orphans))
	}
	if t.repeated > 0 {
		w = append(w, fmt.Sprintf("%d spans repeat the id of another span of the trace (a sender's retry stored twice)", t.repeated))
	}
	return w
}
