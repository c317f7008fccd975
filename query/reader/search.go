package reader

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/query/api"
)

// Search is a trace search: a trace matches when one of its spans matches
// every filter set.
type Search struct {
	Window                   Window
	Service, Operation       string
	MinDuration, MaxDuration time.Duration // 0: no bound
	// Status is "", api.StatusError (status ERROR or an error.type),
	// api.StatusOK or api.StatusUnset.
	Status     string
	ColdStart  *bool
	ErrorType  string
	Attributes []AttributeFilter
	Limit      int
	Cursor     *Cursor
}

// AttributeFilter matches spans whose attribute Key has Value (string
// form), or, with an empty Value, that have the key. Scope picks span
// attributes (api.ScopeSpan), resource attributes (api.ScopeResource),
// or either (""). The values of both maps have bloom-filter indexes.
type AttributeFilter struct{ Key, Value, Scope string }

// Cursor is where a page of search results ended: the sort key of its
// last trace.
type Cursor struct {
	// Time is the start of the trace's newest matching span.
	Time    int64
	TraceID string
}

// String encodes the cursor for the API (opaque to clients).
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Time, 10) + "." + c.TraceID))
}

// ParseCursor decodes Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, errors.New("not a cursor returned by this API")
	}
	t, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil || !ValidTraceID(id) {
		return Cursor{}, errors.New("not a cursor returned by this API")
	}
	return Cursor{Time: n, TraceID: id}, nil
}

// ValidTraceID reports whether id is a normalised trace id: 32 lower-case
// hex digits, not all zero.
func ValidTraceID(id string) bool {
	if len(id) != 32 || id == strings.Repeat("0", 32) {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Match is a trace found by a search.
type Match struct {
	TraceID string
	// Time is the start of its newest matching span (the sort key).
	Time int64
}

// Searching newest first, the window is read in chunks from its end,
// each this many times longer than the one before: a search that finds
// enough recent traces never reads the rest of the window.
const (
	firstChunk  = 15 * time.Minute
	chunkGrowth = 4
	// cursorSlack is how far past a cursor a page's first chunk reads, so
	// that traces whose matching spans straddle the cursor (already shown
	// on an earlier page) are recognised by their newer spans. Traces
	// whose matching spans lie further apart than this may show twice.
	cursorSlack = 5 * time.Minute
)

// FindTraces returns up to s.Limit matching traces, newest first (by their
// newest matching span, then trace id), and whether more follow.
func (r *Reader) FindTraces(ctx context.Context, s Search) ([]Match, bool, error) {
	where, args := s.filters()
	end := s.Window.End
	if s.Cursor != nil {
		args = append(args, clickhouse.Named("cursorTime", s.Cursor.Time), clickhouse.Named("cursorId", s.Cursor.TraceID))
		if c := unixNano(s.Cursor.Time).Add(cursorSlack); c.Before(end) {
			end = c
		}
	}
	having := ""
	if s.Cursor != nil {
		having = "HAVING (t, TraceId) < (toInt64(@cursorTime), @cursorId)"
	}
	var (
		found = make([]Match, 0, s.Limit+1)
		seen  = map[string]bool{}
		chunk = firstChunk
	)
	for end.After(s.Window.Start) && len(found) <= s.Limit {
		start := end.Add(-chunk)
		if start.Before(s.Window.Start) {
			start = s.Window.Start
		}
		// Traces already found in a newer chunk come again here when they
		// also matched earlier: ask for enough to skip them.
		sql := `SELECT TraceId, max(toUnixTimestamp64Nano(Timestamp)) AS t
FROM ` + r.spans + `
WHERE ` + where + `
GROUP BY TraceId ` + having + `
ORDER BY t DESC, TraceId DESC
LIMIT @limit`
		chunkArgs := append(append([]driver.NamedValue{}, args...),
			clickhouse.Named("start", start.UnixNano()), clickhouse.Named("end", end.UnixNano()),
			clickhouse.Named("limit", s.Limit+1-len(found)+len(seen)))
		err := r.each(ctx, "search traces", sql, chunkArgs, func(rows driver.Rows) error {
			var m Match
			if err := rows.Scan(&m.TraceID, &m.Time); err != nil {
				return err
			}
			if !seen[m.TraceID] && len(found) <= s.Limit {
				found = append(found, m)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		for _, m := range found {
			seen[m.TraceID] = true
		}
		end, chunk = start, chunk*chunkGrowth
	}
	if len(found) > s.Limit {
		return found[:s.Limit], true, nil
	}
	return found, false, nil
}

// filters renders s's span conditions (for the window @start, @end).
func (s Search) filters() (string, []driver.NamedValue) {
	conds := []string{"TenantId = @tenant", inWindow}
	var args []driver.NamedValue
	add := func(cond string, named ...driver.NamedValue) {
		conds = append(conds, cond)
		args = append(args, named...)
	}
	if s.Service != "" {
		add("ServiceName = @service", clickhouse.Named("service", s.Service))
	}
	if s.Operation != "" {
		add("SpanName = @operation", clickhouse.Named("operation", s.Operation))
	}
	if s.MinDuration > 0 {
		add("Duration >= @minDuration", clickhouse.Named("minDuration", uint64(s.MinDuration)))
	}
	if s.MaxDuration > 0 {
		add("Duration <= @maxDuration", clickhouse.Named("maxDuration", uint64(s.MaxDuration)))
	}
	switch s.Status {
	case api.StatusError:
		add("(StatusCode = 'Error' OR ErrorType != '')")
	case api.StatusOK:
		add("StatusCode = 'Ok'")
	case api.StatusUnset:
		add("StatusCode = 'Unset' AND ErrorType = ''")
	}
	switch {
	case s.ColdStart == nil:
	case *s.ColdStart:
		add("ColdStart")
	default:
		// A warm invocation: init spans and the spans outside functions
		// are no cold starts either, and would match nearly every trace.
		add("IsInvocation AND NOT ColdStart")
	}
	if s.ErrorType != "" {
		add("ErrorType = @errorType", clickhouse.Named("errorType", s.ErrorType))
	}
	for i, a := range s.Attributes {
		k, v := fmt.Sprintf("attrKey%d", i), fmt.Sprintf("attrValue%d", i)
		named := []driver.NamedValue{clickhouse.Named(k, a.Key)}
		match := func(column string) string { return fmt.Sprintf("mapContains(%s, @%s)", column, k) }
		if a.Value != "" {
			named = append(named, clickhouse.Named(v, a.Value))
			match = func(column string) string { return fmt.Sprintf("%s[@%s] = @%s", column, k, v) }
		}
		switch a.Scope {
		case api.ScopeSpan:
			add(match("SpanAttributes"), named...)
		case api.ScopeResource:
			add(match("ResourceAttributes"), named...)
		default:
			add("("+match("SpanAttributes")+" OR "+match("ResourceAttributes")+")", named...)
		}
	}
	return strings.Join(conds, " AND "), args
}

// Summaries summarises the traces a search found, in the order given.
// Traces without spans are left out.
func (r *Reader) Summaries(ctx context.Context, matches []Match) ([]api.TraceSummary, error) {
	if len(matches) == 0 {
		return []api.TraceSummary{}, nil
	}
	ids := make([]string, len(matches))
	first, last := matches[0].Time, matches[0].Time
	for i, m := range matches {
		ids[i] = m.TraceID
		first, last = min(first, m.Time), max(last, m.Time)
	}
	// The matches' times are those of their newest matching spans: close
	// enough to the traces' own to tell a page of neighbours from one
	// spread over the window.
	with, where := "", r.inTraceWindows()
	if time.Duration(last-first) <= sharedWindowSpan {
		with = r.lookupWindow("IN @ids")
		where = `TenantId = @tenant AND TraceId IN @ids` + inLookupWindow
	}
	sql := with + `SELECT ` + summaryColumns + `
FROM ` + r.spans + `
WHERE ` + where + `
GROUP BY TraceId`
	byID := make(map[string]api.TraceSummary, len(ids))
	err := r.each(ctx, "trace summaries", sql, []driver.NamedValue{clickhouse.Named("ids", clickhouse.GroupSet{Value: anySlice(ids)})},
		func(rows driver.Rows) error {
			s, err := r.scanSummary(rows)
			byID[s.TraceID] = s
			return err
		})
	if err != nil {
		return nil, err
	}
	out := make([]api.TraceSummary, 0, len(ids))
	for _, id := range ids {
		if s, ok := byID[id]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// sharedWindowSpan is how far apart in time the traces of a search page
// may lie for their summaries to read one window for all of them (a page
// of recent traces); beyond it each trace's own window is read. Measured
// on 10M spans (docs/benchmarks.md): 20 traces of the same hour are
// summarised in ~26 ms through a shared window and ~27 ms through their
// own; 10 traces spread over a day take ~120 ms through a shared window
// (the read seeks every trace id in every 15-minute bucket of every
// service) and ~36 ms through their own.
const sharedWindowSpan = time.Hour

// maxTraceBuckets bounds the 15-minute buckets inTraceWindows seeks per
// trace and service: 31 days, past the default retention of 7.
const maxTraceBuckets = 31 * 24 * 4

// inTraceWindows restricts a span read to the traces @ids, each within
// its own window from the lookup table: the primary key's own tuple
// (tenant, service, 15-minute bucket, trace id) for every service and
// bucket the trace has, so the read seeks exactly the granules that may
// hold its spans wherever in time the traces lie.
func (r *Reader) inTraceWindows() string {
	return `(TenantId, ServiceName, toStartOfFifteenMinutes(Timestamp), TraceId) IN (
    SELECT @tenant, service, bucket, TraceId
    FROM (SELECT TraceId, min(Start) AS first, max(End) AS last, groupUniqArrayArray(Services) AS services
          FROM ` + r.traceTimes + ` WHERE TraceId IN @ids GROUP BY TraceId)
    ARRAY JOIN services AS service
    ARRAY JOIN arrayMap(i -> toStartOfFifteenMinutes(first) + toIntervalSecond(i * 900),
        range(least(toUInt64((toStartOfFifteenMinutes(last) - toStartOfFifteenMinutes(first)) / 900) + 1, ` + strconv.Itoa(maxTraceBuckets) + `))) AS bucket)`
}
