// Package plugin is the Coldtrace data source's backend: it answers
// Grafana's queries, health checks and the editors' resource calls by
// calling Coldtrace's REST API.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/frames"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/models"
)

// PluginID is the plugin's id in plugin.json.
const PluginID = "coldtrace-traces-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured Coldtrace data source.
type Datasource struct {
	settings    models.PluginSettings
	settingsErr error
	api         *coldtrace.Client
	self        frames.DataSourceRef
	http        *http.Client
	resources   backend.CallResourceHandler
}

// NewDatasource creates the instance for one data source's settings.
// Invalid settings do not fail here: Grafana would only log that, so the
// instance keeps the error and reports it on every query and health check,
// where the user sees it.
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{self: frames.DataSourceRef{UID: s.UID, Name: s.Name}}
	d.settings, d.settingsErr = models.LoadPluginSettings(s)
	if d.settingsErr != nil {
		return d, nil
	}
	opts, err := s.HTTPClientOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("http client options: %w", err)
	}
	opts.Timeouts.Timeout = d.settings.Timeout()
	d.http, err = httpclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	if d.api, err = coldtrace.New(d.settings.Client(), d.http); err != nil {
		d.settingsErr = err
		return d, nil
	}
	d.resources = httpadapter.New(newResourceMux(d.api))
	return d, nil
}

// Dispose releases the instance's idle connections when Grafana replaces
// it after a settings change.
func (d *Datasource) Dispose() {
	if d.http != nil {
		d.http.CloseIdleConnections()
	}
}

// QueryData answers each query independently: one failing query becomes
// that query's error and the others still return data.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	if d.settingsErr != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, "data source settings: "+d.settingsErr.Error())
	}
	q, err := models.ParseQuery(dq.JSON, dq.QueryType)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	window := coldtrace.Window{From: dq.TimeRange.From, To: dq.TimeRange.To}
	var res backend.DataResponse
	switch q.QueryType {
	case models.QueryTrace:
		res, err = d.queryTrace(ctx, q)
	case models.QuerySearch:
		res, err = d.querySearch(ctx, q, window)
	case models.QueryMetrics:
		res, err = d.queryMetrics(ctx, q, dq)
	case models.QueryFunctions:
		res, err = d.queryFunctions(ctx, window)
	case models.QueryServiceMap:
		res, err = d.queryServiceMap(ctx, window)
	}
	if err != nil {
		log.DefaultLogger.FromContext(ctx).Warn("query failed", "refId", dq.RefID, "queryType", q.QueryType, "error", err)
		return errorResponse(err)
	}
	for _, f := range res.Frames {
		f.RefID = dq.RefID
	}
	return res
}

// errorResponse turns a failed call to Coldtrace into a frame error
// whose status says what went wrong and whose text is the API's own.
func errorResponse(err error) backend.DataResponse {
	status := backend.StatusBadGateway
	var e *coldtrace.Error
	if errors.As(err, &e) {
		switch {
		case e.HTTPStatus == http.StatusNotFound:
			status = backend.StatusNotFound
		case e.HTTPStatus == http.StatusGatewayTimeout:
			status = backend.StatusTimeout
		case e.HTTPStatus == http.StatusTooManyRequests:
			status = backend.StatusTooManyRequests
		case e.HTTPStatus >= 400 && e.HTTPStatus < 500:
			status = backend.StatusBadRequest
		}
	}
	return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, err.Error())
}
