package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/internal/tenant"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
)

// Limits of /api/v1 parameters.
const (
	defaultSearchLimit    = 20
	defaultInstancesLimit = 100
	defaultValuesLimit    = 20
	maxAttributeFilters   = 20
	// maxPoints bounds a time series' length.
	maxPoints = 2000
	// defaultPoints is about how many steps a series has when no step
	// is given.
	defaultPoints = 60
)

func (s *Server) status(c echo.Context) error {
	if _, err := s.newParams(c, false); err != nil {
		return err
	}
	ctx := c.Request().Context()
	st := api.Status{
		Status:     "ok",
		Version:    s.cfg.Version,
		ClickHouse: api.ClickHouseStatus{Embedded: s.cfg.Embedded, Database: s.cfg.Database},
		Tenant:     tenant.FromContext(ctx),
	}
	ss, err := s.rd.Status(ctx)
	if err != nil {
		s.log.Warn("status: ClickHouse did not answer", "err", err)
		st.Status, st.ClickHouse.Error = "degraded", err.Error()
		return c.JSON(http.StatusServiceUnavailable, st)
	}
	st.ClickHouse.Reachable, st.ClickHouse.Version, st.SpanCount = true, ss.Version, ss.SpanCount
	return c.JSON(http.StatusOK, st)
}

func (s *Server) openAPI(c echo.Context) error {
	if _, err := s.newParams(c, false); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, api.OpenAPI)
}

func (s *Server) trace(c echo.Context) error {
	p, err := s.newParams(c, false, "start", "end")
	if err != nil {
		return err
	}
	id, err := traceID("traceId", c.Param("traceId"))
	if err != nil {
		return err
	}
	hint, err := p.optionalWindow()
	if err != nil {
		return err
	}
	err = s.streamOneTrace(c, id, hint, s.streamTrace)
	if errors.Is(err, errNoSpans) {
		return notFound("trace %s not found", id)
	}
	return err
}

func (s *Server) searchTraces(c echo.Context) error {
	p, err := s.newParams(c, true, "service", "operation", "minDuration", "maxDuration", "status",
		"coldStart", "errorType", "start", "end", "limit", "cursor")
	if err != nil {
		return err
	}
	q := reader.Search{Service: p.str("service"), Operation: p.str("operation"), Attributes: p.attributes()}
	if len(q.Attributes) > maxAttributeFilters {
		return badParameter(attrPrefix+"*", "%d attribute filters; at most %d", len(q.Attributes), maxAttributeFilters)
	}
	if q.Window, err = p.window(); err != nil {
		return err
	}
	if q.MinDuration, err = p.duration("minDuration"); err != nil {
		return err
	}
	if q.MaxDuration, err = p.duration("maxDuration"); err != nil {
		return err
	}
	if q.MaxDuration > 0 && q.MaxDuration < q.MinDuration {
		return badParameter("maxDuration", "is less than minDuration")
	}
	if q.Status, err = p.oneOf("status", api.StatusError, api.StatusOK, api.StatusUnset); err != nil {
		return err
	}
	if q.ColdStart, err = p.boolean("coldStart"); err != nil {
		return err
	}
	if q.ErrorType, err = p.oneOf("errorType", errorTypes...); err != nil {
		return err
	}
	if q.Limit, err = p.limit("limit", defaultSearchLimit, s.cfg.MaxLimit); err != nil {
		return err
	}
	if v := p.str("cursor"); v != "" {
		cur, err := reader.ParseCursor(v)
		if err != nil {
			return badParameter("cursor", "%v", err)
		}
		q.Cursor = &cur
	}
	ctx := c.Request().Context()
	matches, more, err := s.rd.FindTraces(ctx, q)
	if err != nil {
		return err
	}
	summaries, err := s.rd.Summaries(ctx, matches)
	if err != nil {
		return err
	}
	res := api.TraceSearch{Window: q.Window.API(), Traces: summaries}
	if more {
		last := matches[len(matches)-1]
		res.NextCursor = reader.Cursor{Time: last.Time, TraceID: last.TraceID}.String()
	}
	return c.JSON(http.StatusOK, res)
}

// errorTypes are the error.type values of the span contract.
var errorTypes = []string{"timeout", "out_of_memory", "crash", "handler_error", "init_error", "throttled"}

func (s *Server) services(c echo.Context) error {
	p, err := s.newParams(c, false, "start", "end")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	svcs, err := s.rd.Services(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Services{Window: w.API(), Services: svcs})
}

func (s *Server) operations(c echo.Context) error {
	p, err := s.newParams(c, false, "start", "end")
	if err != nil {
		return err
	}
	service, err := pathParam(c, "service")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	ops, err := s.rd.Operations(c.Request().Context(), service, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Operations{Window: w.API(), Service: service, Operations: ops})
}

func (s *Server) functions(c echo.Context) error {
	p, err := s.newParams(c, false, "start", "end")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	w = reader.MinuteWindow(w)
	fns, err := s.rd.Functions(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Functions{Window: w.API(), Prices: s.rd.Prices(), Functions: fns})
}

func (s *Server) timeseries(c echo.Context) error {
	p, err := s.newParams(c, false, "metric", "step", "version", "start", "end")
	if err != nil {
		return err
	}
	name, err := pathParam(c, "name")
	if err != nil {
		return err
	}
	metric := p.str("metric")
	if metric == "" {
		return badParameter("metric", "is required: one of %s", metricNames())
	}
	unit, ok := reader.MetricUnits[metric]
	if !ok {
		return badParameter("metric", "%q: want one of %s", metric, metricNames())
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	step, err := p.duration("step")
	if err != nil {
		return err
	}
	if step == 0 && p.str("step") != "" {
		return badParameter("step", "%q: must be positive, a whole number of minutes (the rollup's resolution)", p.str("step"))
	}
	if step == 0 {
		step = max(time.Minute, (w.End.Sub(w.Start) / defaultPoints).Truncate(time.Minute))
	}
	if step < time.Minute || step%time.Minute != 0 {
		return badParameter("step", "%v: want a whole number of minutes (the rollup's resolution)", step)
	}
	// The window is rounded out to whole steps, so a step bounds how far
	// past start and end a series reaches.
	if step > s.cfg.MaxWindow {
		return badParameter("step", "%v is longer than the maximum window %v", step, s.cfg.MaxWindow)
	}
	w = reader.StepWindow(w, step)
	if n := int(w.End.Sub(w.Start) / step); n > maxPoints {
		return badParameter("step", "%v makes %d points; at most %d, use a longer step", step, n, maxPoints)
	}
	version := p.str("version")
	points, err := s.rd.Timeseries(c.Request().Context(), name, version, metric, step, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Timeseries{
		Function: name, Version: version, Metric: metric, Unit: unit,
		StepSeconds: int64(step / time.Second), Window: w.API(), Points: points,
	})
}

func metricNames() string { return strings.Join(api.Metrics, ", ") }

func (s *Server) instances(c echo.Context) error {
	p, err := s.newParams(c, false, "version", "limit", "start", "end")
	if err != nil {
		return err
	}
	name, err := pathParam(c, "name")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	limit, err := p.limit("limit", defaultInstancesLimit, s.cfg.MaxLimit)
	if err != nil {
		return err
	}
	in, err := s.rd.Instances(c.Request().Context(), name, p.str("version"), limit, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Instances{Function: name, Window: w.API(), Instances: in})
}

func (s *Server) dependencies(c echo.Context) error {
	p, err := s.newParams(c, false, "start", "end")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	edges, err := s.rd.Dependencies(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Dependencies{Window: w.API(), Edges: edges})
}

func (s *Server) attributeKeys(c echo.Context) error {
	p, err := s.newParams(c, false, "service", "start", "end")
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	keys, err := s.rd.AttributeKeys(c.Request().Context(), p.str("service"), w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.Attributes{Window: w.API(), Attributes: keys})
}

func (s *Server) attributeValues(c echo.Context) error {
	p, err := s.newParams(c, false, "service", "scope", "limit", "start", "end")
	if err != nil {
		return err
	}
	key, err := pathParam(c, "key")
	if err != nil {
		return err
	}
	scope, err := p.oneOf("scope", api.ScopeSpan, api.ScopeResource)
	if err != nil {
		return err
	}
	limit, err := p.limit("limit", defaultValuesLimit, s.cfg.MaxLimit)
	if err != nil {
		return err
	}
	w, err := p.window()
	if err != nil {
		return err
	}
	values, err := s.rd.AttributeValues(c.Request().Context(), key, p.str("service"), scope, limit, w)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.AttributeValues{Key: key, Window: w.API(), Values: values})
}
