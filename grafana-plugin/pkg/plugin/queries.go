package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"golang.org/x/sync/errgroup"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/frames"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/models"
)

// seriesConcurrency bounds the time series requests one metrics query
// sends to Coldtrace at once (one per function).
const seriesConcurrency = 4

// Attribute keys that name a function, so ad-hoc filters on them can
// narrow function metrics, which carry no other attributes.
var functionKeys = []string{"faas.name", "service.name", coldtrace.ResourceKeyPrefix + "faas.name", coldtrace.ResourceKeyPrefix + "service.name"}

func (d *Datasource) queryTrace(ctx context.Context, q models.Query) (backend.DataResponse, error) {
	t, err := d.api.Trace(ctx, strings.ToLower(q.TraceID))
	if err != nil {
		return backend.DataResponse{}, err
	}
	f, err := frames.Trace(t)
	if err != nil {
		return backend.DataResponse{}, err
	}
	return backend.DataResponse{Frames: data.Frames{f}}, nil
}

func (d *Datasource) querySearch(ctx context.Context, q models.Query, w coldtrace.Window) (backend.DataResponse, error) {
	min, max, _ := q.Durations() // validated
	attrs, _ := q.AttributeFilters()
	s, err := d.api.SearchTraces(ctx, coldtrace.SearchParams{
		Window: w, Service: q.Service, Operation: q.Operation,
		MinDuration: min, MaxDuration: max,
		Status: q.Status, ColdStart: q.ColdStart, ErrorType: q.ErrorType,
		Attributes: attrs, Limit: q.SearchLimit(),
	})
	if err != nil {
		return backend.DataResponse{}, err
	}
	return backend.DataResponse{Frames: data.Frames{frames.Search(s, d.self)}}, nil
}

func (d *Datasource) queryMetrics(ctx context.Context, q models.Query, dq backend.DataQuery) (backend.DataResponse, error) {
	w := coldtrace.Window{From: dq.TimeRange.From, To: dq.TimeRange.To}
	names := q.Functions()
	narrowed, notices := functionFilters(q.AdHocFilters)
	if names == nil {
		all, err := d.api.Functions(ctx, w)
		if err != nil {
			return backend.DataResponse{}, err
		}
		for _, f := range all.Functions {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
		slices.Sort(names)
	}
	if narrowed != nil {
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(narrowed, n) })
	}
	series := make([]*data.Frame, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(seriesConcurrency)
	step := metricStep(dq)
	for i, name := range names {
		g.Go(func() error {
			ts, err := d.api.Timeseries(gctx, coldtrace.TimeseriesParams{
				Window: w, Function: name, Version: q.Version, Metric: q.Metric, Step: step,
			})
			if err != nil {
				return err
			}
			series[i] = frames.Timeseries(ts, q.Version)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return backend.DataResponse{}, err
	}
	if len(notices) > 0 {
		if len(series) == 0 {
			series = append(series, data.NewFrame(q.Metric))
		}
		series[0].AppendNotices(notices...)
	}
	return backend.DataResponse{Frames: series}, nil
}

// functionFilters splits ad-hoc filters into the function names they
// select (nil when none names a function) and notices for those function
// metrics cannot honour.
func functionFilters(filters []models.AdHocFilter) ([]string, []data.Notice) {
	var names []string
	var notices []data.Notice
	for _, f := range filters {
		if slices.Contains(functionKeys, f.Key) && (f.Operator == "=" || f.Operator == "") {
			names = append(names, f.Value)
			continue
		}
		notices = append(notices, data.Notice{
			Severity: data.NoticeSeverityWarning,
			Text:     fmt.Sprintf("Ad-hoc filter %s %s %s is not applied: function metrics can only be filtered by %s", f.Key, f.Operator, f.Value, strings.Join(functionKeys, " or ")),
		})
	}
	return names, notices
}

// metricStep is the step of a metrics query: the panel's interval, or
// wider when max data points asks for fewer points, rounded up to whole
// minutes (the rollup's resolution).
func metricStep(dq backend.DataQuery) time.Duration {
	step := dq.Interval
	if dq.MaxDataPoints > 0 {
		if s := dq.TimeRange.Duration() / time.Duration(dq.MaxDataPoints); s > step {
			step = s
		}
	}
	minutes := (step + time.Minute - 1) / time.Minute
	if minutes < 1 {
		minutes = 1
	}
	return minutes * time.Minute
}

func (d *Datasource) queryFunctions(ctx context.Context, w coldtrace.Window) (backend.DataResponse, error) {
	fs, err := d.api.Functions(ctx, w)
	if err != nil {
		return backend.DataResponse{}, err
	}
	return backend.DataResponse{Frames: data.Frames{frames.Functions(fs)}}, nil
}

func (d *Datasource) queryServiceMap(ctx context.Context, w coldtrace.Window) (backend.DataResponse, error) {
	var deps coldtrace.Dependencies
	var services coldtrace.Services
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { deps, err = d.api.Dependencies(gctx, w); return err })
	g.Go(func() (err error) { services, err = d.api.Services(gctx, w); return err })
	if err := g.Wait(); err != nil {
		return backend.DataResponse{}, err
	}
	functions := map[string]bool{}
	for _, s := range services.Services {
		functions[s.Name] = s.Function
	}
	nodes, edges := frames.ServiceMap(deps, functions)
	return backend.DataResponse{Frames: data.Frames{nodes, edges}}, nil
}
