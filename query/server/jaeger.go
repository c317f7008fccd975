package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/jaeger"
	"github.com/coldtrace/coldtrace/query/reader"
)

// The Jaeger-compatible API follows Jaeger's query service: lenient about
// parameters it does not use (Jaeger UI and Grafana send several), times
// in microseconds, windows clamped to the maximum rather than refused.

const (
	jaegerDefaultLimit = 20
	jaegerMaxLimit     = 1500
)

func jaegerOK(c echo.Context, data any, total int) error {
	return c.JSON(http.StatusOK, jaeger.Response{Data: data, Total: total})
}

// jaegerListWindow is the window of listings Jaeger serves without one:
// everything kept, up to the maximum window.
func (s *Server) jaegerListWindow() reader.Window {
	now := s.now().UTC()
	return reader.Window{Start: now.Add(-s.cfg.MaxWindow), End: now}
}

func (s *Server) jaegerServices(c echo.Context) error {
	svcs, err := s.rd.Services(c.Request().Context(), s.jaegerListWindow())
	if err != nil {
		return err
	}
	names := make([]string, len(svcs))
	for i, sv := range svcs {
		names[i] = sv.Name
	}
	return jaegerOK(c, names, len(names))
}

func (s *Server) jaegerServiceOperations(c echo.Context) error {
	service, err := pathParam(c, "service")
	if err != nil {
		return err
	}
	ops, err := s.rd.Operations(c.Request().Context(), service, s.jaegerListWindow())
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	names := []string{}
	for _, o := range ops {
		if !seen[o.Name] {
			seen[o.Name] = true
			names = append(names, o.Name)
		}
	}
	return jaegerOK(c, names, len(names))
}

func (s *Server) jaegerOperations(c echo.Context) error {
	service := c.QueryParam("service")
	if service == "" {
		return badParameter("service", "is required")
	}
	kind := strings.ToLower(c.QueryParam("spanKind"))
	ops, err := s.rd.Operations(c.Request().Context(), service, s.jaegerListWindow())
	if err != nil {
		return err
	}
	out := []jaeger.Operation{}
	for _, o := range ops {
		if kind == "" || kind == o.Kind {
			out = append(out, jaeger.Operation{Name: o.Name, SpanKind: o.Kind})
		}
	}
	return jaegerOK(c, out, len(out))
}

// jaegerMicros parses an optional unix-microseconds parameter.
func jaegerMicros(c echo.Context, name string) (time.Time, bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false, badParameter(name, "%q: want unix microseconds", v)
	}
	return time.UnixMicro(n).UTC(), true, nil
}

func (s *Server) jaegerTrace(c echo.Context) error {
	id, err := traceID("traceId", c.Param("traceId"))
	if err != nil {
		return err
	}
	hint, err := s.jaegerHint(c)
	if err != nil {
		return err
	}
	err = s.streamOneTrace(c, id, hint, s.streamJaegerTraces)
	if errors.Is(err, errNoSpans) {
		return notFound("trace not found")
	}
	return err
}

// jaegerHint reads the optional start/end (µs) of a trace lookup.
func (s *Server) jaegerHint(c echo.Context) (*reader.Window, error) {
	start, hasStart, err := jaegerMicros(c, "start")
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := jaegerMicros(c, "end")
	if err != nil {
		return nil, err
	}
	if !hasStart && !hasEnd {
		return nil, nil
	}
	w := s.jaegerWindow(start, hasStart, end, hasEnd, s.cfg.DefaultWindow)
	return &w, nil
}

// jaegerWindow completes and clamps a window: end defaults to now, start
// to end minus lookback; longer than the maximum, start moves up.
func (s *Server) jaegerWindow(start time.Time, hasStart bool, end time.Time, hasEnd bool, lookback time.Duration) reader.Window {
	if !hasEnd {
		end = s.now().UTC()
	}
	if lookback <= 0 || lookback > s.cfg.MaxWindow {
		lookback = s.cfg.MaxWindow
	}
	if !hasStart {
		start = end.Add(-lookback)
	}
	if end.Sub(start) > s.cfg.MaxWindow {
		start = end.Add(-s.cfg.MaxWindow)
	}
	if !start.Before(end) {
		start = end.Add(-time.Nanosecond)
	}
	return reader.Window{Start: start, End: end}
}

func (s *Server) jaegerSearch(c echo.Context) error {
	q := c.QueryParams()
	if ids := q["traceID"]; len(ids) > 0 {
		return s.jaegerTraces(c, ids)
	}
	search := reader.Search{Service: q.Get("service"), Operation: q.Get("operation")}
	if search.Service == "" {
		return badParameter("service", "is required")
	}
	var err error
	if search.Limit, err = jaegerLimit(q.Get("limit")); err != nil {
		return err
	}
	lookback := s.cfg.DefaultWindow
	if v := q.Get("lookback"); v != "" && v != "custom" {
		if lookback, err = parseLookback(v); err != nil {
			return badParameter("lookback", "%v", err)
		}
	}
	start, hasStart, err := jaegerMicros(c, "start")
	if err != nil {
		return err
	}
	end, hasEnd, err := jaegerMicros(c, "end")
	if err != nil {
		return err
	}
	search.Window = s.jaegerWindow(start, hasStart, end, hasEnd, lookback)
	for _, name := range []string{"minDuration", "maxDuration"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		d, err := parseDuration(v)
		if err != nil {
			return badParameter(name, "%v", err)
		}
		if name == "minDuration" {
			search.MinDuration = d
		} else {
			search.MaxDuration = d
		}
	}
	tags, err := jaegerTags(q["tags"], q["tag"])
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(tags) {
		v := tags[k]
		if k == "error" && v == "true" {
			search.Status = api.StatusError
			continue
		}
		search.Attributes = append(search.Attributes, reader.AttributeFilter{Key: k, Value: v})
	}
	if len(search.Attributes) > maxAttributeFilters {
		return badParameter("tags", "%d tag filters; at most %d", len(search.Attributes), maxAttributeFilters)
	}
	ctx := c.Request().Context()
	matches, _, err := s.rd.FindTraces(ctx, search)
	if err != nil {
		return err
	}
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.TraceID
	}
	return s.jaegerTraces(c, ids)
}

// jaegerTraces streams full traces for ids, in order.
func (s *Server) jaegerTraces(c echo.Context, rawIDs []string) error {
	if len(rawIDs) > jaegerMaxLimit {
		return badParameter("traceID", "%d ids; at most %d", len(rawIDs), jaegerMaxLimit)
	}
	ids := make([]string, 0, len(rawIDs))
	for _, raw := range rawIDs {
		id, err := traceID("traceID", raw)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return jaegerOK(c, []jaeger.Trace{}, 0)
	}
	ctx := c.Request().Context()
	st, err := s.rd.OpenTraces(ctx, ids)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := s.streamJaegerTraces(c, st); !errors.Is(err, errNoSpans) {
		return err
	}
	return jaegerOK(c, []jaeger.Trace{}, 0)
}

func jaegerLimit(v string) (int, error) {
	if v == "" {
		return jaegerDefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > jaegerMaxLimit {
		return 0, badParameter("limit", "%q: want a whole number from 0 to %d", v, jaegerMaxLimit)
	}
	if n == 0 {
		return jaegerDefaultLimit, nil
	}
	return n, nil
}

// jaegerTags merges the tags JSON object(s) and tag=key:value filters.
func jaegerTags(objects, pairs []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, o := range objects {
		var m map[string]any
		if err := json.Unmarshal([]byte(o), &m); err != nil {
			return nil, badParameter("tags", "want a JSON object of tag filters: %v", err)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				tags[k] = v
			case bool, float64:
				b, _ := json.Marshal(v)
				tags[k] = string(b)
			default:
				return nil, badParameter("tags", "value of %q must be a string, number or boolean", k)
			}
		}
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" {
			return nil, badParameter("tag", "%q: want key:value", p)
		}
		tags[k] = v
	}
	return tags, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) jaegerDependencies(c echo.Context) error {
	end := s.now().UTC()
	if v := c.QueryParam("endTs"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badParameter("endTs", "%q: want unix milliseconds", v)
		}
		end = time.UnixMilli(n).UTC()
	}
	lookback := s.cfg.DefaultWindow
	if v := c.QueryParam("lookback"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badParameter("lookback", "%q: want milliseconds", v)
		}
		lookback = time.Duration(min(n, int64(s.cfg.MaxWindow/time.Millisecond))) * time.Millisecond
	}
	w := s.jaegerWindow(time.Time{}, false, end, true, lookback)
	edges, err := s.rd.Dependencies(c.Request().Context(), w)
	if err != nil {
		return err
	}
	links := make([]jaeger.DependencyLink, len(edges))
	for i, e := range edges {
		links[i] = jaeger.DependencyLink{Parent: e.Parent, Child: e.Child, CallCount: e.Calls}
	}
	return jaegerOK(c, links, len(links))
}
