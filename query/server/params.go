package server

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
)

// params reads and validates one request's query parameters. Creating it
// rejects parameters the endpoint does not take and repeated ones, so a
// typo never silently widens a query.
type params struct {
	s *Server
	q url.Values
}

// Prefixes of the attribute filters of trace search: attr.KEY=V for span
// attributes, resource.KEY=V for resource attributes.
const (
	attrPrefix     = "attr."
	resourcePrefix = "resource."
)

// filterScopes maps filter prefixes to attribute scopes.
var filterScopes = map[string]string{attrPrefix: api.ScopeSpan, resourcePrefix: api.ScopeResource}

// filterPrefix returns the attribute filter prefix name starts with.
func filterPrefix(name string) (string, bool) {
	for p := range filterScopes {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return p, true
		}
	}
	return "", false
}

// newParams accepts the named parameters (and attr.* when attrs is true).
func (s *Server) newParams(c echo.Context, attrs bool, names ...string) (*params, error) {
	return s.newParamsOf(c.QueryParams(), attrs, names...)
}

// newParamsOf is newParams of the query q.
func (s *Server) newParamsOf(q url.Values, attrs bool, names ...string) (*params, error) {
	for name, values := range q {
		_, isFilter := filterPrefix(name)
		known := attrs && isFilter
		for _, n := range names {
			known = known || n == name
		}
		if !known {
			return nil, unknownParameter(name)
		}
		if len(values) > 1 {
			return nil, badParameter(name, "given %d times; give it once", len(values))
		}
	}
	return &params{s: s, q: q}, nil
}

func (p *params) str(name string) string { return p.q.Get(name) }

// window reads start and end: end defaults to now, start to end minus the
// default window; the window must be non-empty and at most the maximum.
func (p *params) window() (reader.Window, error) {
	now := p.s.now()
	end, err := p.instant("end", now, now)
	if err != nil {
		return reader.Window{}, err
	}
	start, err := p.instant("start", end.Add(-p.s.cfg.DefaultWindow), now)
	if err != nil {
		return reader.Window{}, err
	}
	if !start.Before(end) {
		return reader.Window{}, badParameter("start", "must be before end (%s)", end.Format(time.RFC3339Nano))
	}
	if end.Sub(start) > p.s.cfg.MaxWindow {
		return reader.Window{}, badParameter("start", "the window from start to end is %v, longer than the maximum %v", end.Sub(start), p.s.cfg.MaxWindow)
	}
	return reader.Window{Start: start.UTC(), End: end.UTC()}, nil
}

// optionalWindow reads start and end as hints: nil when neither is given.
func (p *params) optionalWindow() (*reader.Window, error) {
	if p.str("start") == "" && p.str("end") == "" {
		return nil, nil
	}
	w, err := p.window()
	return &w, err
}

// instant parses a time parameter: unix nanoseconds, RFC 3339, now, or
// now-<duration>.
func (p *params) instant(name string, def, now time.Time) (time.Time, error) {
	v := p.str(name)
	if v == "" {
		return def, nil
	}
	t, err := parseInstant(v, now)
	if err != nil {
		return time.Time{}, badParameter(name, "%v", err)
	}
	return t, nil
}

// Instants outside these years are typos (or a unit mix-up: a unix
// seconds or milliseconds value read as nanoseconds lands in 1970).
var (
	minInstant = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func parseInstant(v string, now time.Time) (time.Time, error) {
	var t time.Time
	switch {
	case v == "now":
		t = now
	case strings.HasPrefix(v, "now-"):
		d, err := parseLookback(v[len("now-"):])
		if err != nil {
			return t, errorf("%q: want now-<duration> such as now-15m, now-2d or now-1w", v)
		}
		t = now.Add(-d)
	case isDigits(v):
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return t, errorf("%q is not a unix time in nanoseconds", v)
		}
		t = time.Unix(0, n)
	default:
		var err error
		t, err = time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, errorf("%q: want unix nanoseconds, RFC 3339 (2006-01-02T15:04:05Z), now or now-<duration>", v)
		}
	}
	if t.Before(minInstant) || t.After(maxInstant) {
		return t, errorf("%q is outside the years 2000 to 2200 (times are unix nanoseconds)", v)
	}
	return t, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// duration parses a Go duration or integer nanoseconds; 0 when absent.
func (p *params) duration(name string) (time.Duration, error) {
	v := p.str(name)
	if v == "" {
		return 0, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, badParameter(name, "%v", err)
	}
	return d, nil
}

func parseDuration(v string) (time.Duration, error) {
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errorf("%q is too large", v)
		}
		return time.Duration(n), nil
	}
	if days, ok, err := wholeDays(v); ok || err != nil {
		return days, err
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errorf("%q: want a duration such as 250ms, 1.5s, 1d or 1w, or nanoseconds", v)
	}
	if d < 0 {
		return 0, errorf("%q is negative", v)
	}
	return d, nil
}

// parseLookback reads a span of time back from now, as now-<lookback>
// and Jaeger UI's lookback take it: a Go duration, or whole days (2d) or
// weeks (1w), as durations take them.
func parseLookback(v string) (time.Duration, error) {
	if days, ok, err := wholeDays(v); ok || err != nil {
		return days, err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errorf("%q: want a duration such as 1h, 2d or 1w", v)
	}
	return d, nil
}

// wholeDays reads a whole number of days (1d) or weeks (1w), the units
// the time parameters' now-2d takes and Go's durations lack.
// It is not ok, without an error, for anything else.
func wholeDays(v string) (time.Duration, bool, error) {
	if len(v) < 2 {
		return 0, false, nil
	}
	unit := v[len(v)-1:]
	if (unit != "d" && unit != "w") || !isDigits(v[:len(v)-1]) {
		return 0, false, nil
	}
	days, err := strconv.Atoi(v[:len(v)-1])
	if unit == "w" {
		days *= 7
	}
	// 100,000 days, far past any window, well inside a Duration (292
	// years): larger values overflowed into negative durations.
	if err != nil || days < 0 || days > maxDays {
		return 0, false, errorf("%q is longer than %d days", v, maxDays)
	}
	return time.Duration(days) * 24 * time.Hour, true, nil
}

const maxDays = 100_000

// limit parses a count in [1, max], def when absent.
func (p *params) limit(name string, def, max int) (int, error) {
	v := p.str(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badParameter(name, "%q: want a whole number from 1 to %d", v, max)
	}
	return n, nil
}

// boolean parses true or false; nil when absent.
func (p *params) boolean(name string) (*bool, error) {
	switch v := p.str(name); v {
	case "":
		return nil, nil
	case "true", "false":
		b := v == "true"
		return &b, nil
	default:
		return nil, badParameter(name, "%q: want true or false", v)
	}
}

// oneOf returns the parameter if it is one of allowed (or absent).
func (p *params) oneOf(name string, allowed ...string) (string, error) {
	v := p.str(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", badParameter(name, "%q: want one of %s", v, strings.Join(allowed, ", "))
}

// attributes returns the attr.KEY=VALUE and resource.KEY=VALUE filters,
// by key.
func (p *params) attributes() []reader.AttributeFilter {
	var out []reader.AttributeFilter
	for name := range p.q {
		if prefix, ok := filterPrefix(name); ok {
			out = append(out, reader.AttributeFilter{Key: name[len(prefix):], Value: p.q.Get(name), Scope: filterScopes[prefix]})
		}
	}
	sortFilters(out)
	return out
}

// pathParam returns a path parameter, unescaped: echo matches on the raw
// path when it holds escapes (a service name with a slash), leaving the
// escapes in the value.
func pathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", badParameter(name, "bad escape in %q", v)
	}
	return u, nil
}

// maxTraceIDDigits is the length of a trace id in hex.
const maxTraceIDDigits = 32

// traceID normalises a trace id parameter: 1 to 32 hex digits of either
// case, left-padded with zeros (Jaeger drops leading zeros), not all zero.
func traceID(name, v string) (string, error) {
	if len(v) == 0 || len(v) > maxTraceIDDigits {
		return "", badParameter(name, "%q: want 1 to 32 hex digits", v)
	}
	id := strings.Repeat("0", maxTraceIDDigits-len(v)) + strings.ToLower(v)
	if !reader.ValidTraceID(id) {
		return "", badParameter(name, "%q: want 1 to 32 hex digits, not all zero", v)
	}
	return id, nil
}
