// Package server is Coldtrace's HTTP API: the echo server, its routes
// (/api/v1 and the Jaeger-compatible /api), parameter parsing and
// validation, the one error shape, response streaming, and the web UI
// fallback. All HTTP API code lives here; the SQL is in query/reader.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/internal/tenant"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
)

// Config tunes the API.
type Config struct {
	// DefaultWindow is the window of a request without start.
	DefaultWindow time.Duration
	// MaxWindow bounds every window.
	MaxWindow time.Duration
	// QueryTimeout bounds each request's queries (ClickHouse
	// max_execution_time follows the context deadline).
	QueryTimeout time.Duration
	// MaxLimit bounds limit parameters of /api/v1.
	MaxLimit int
	// Version is reported by /api/v1/status.
	Version string
	// Embedded and Database describe storage for /api/v1/status.
	Embedded bool
	Database string
	// UI serves the web UI (ui.Handler) for every path the API does not
	// route, client-side routes of the single-page app included; nil
	// serves none.
	UI http.Handler
	// TracerProvider, when set, traces every API request and the
	// ClickHouse queries it makes (self-tracing).
	TracerProvider trace.TracerProvider
	// StalledClientTimeout cuts off a client that takes no bytes of an
	// answer for this long (see DefaultStalledClientTimeout).
	StalledClientTimeout time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		DefaultWindow: time.Hour,
		MaxWindow:     7 * 24 * time.Hour,
		QueryTimeout:  30 * time.Second,
		MaxLimit:      1000,
		Version:       "dev",

		StalledClientTimeout: DefaultStalledClientTimeout,
	}
}

// Validate reports invalid settings.
func (c Config) Validate() error {
	var errs []error
	if c.DefaultWindow <= 0 {
		errs = append(errs, fmt.Errorf("query: default window %v must be positive", c.DefaultWindow))
	}
	if c.MaxWindow < c.DefaultWindow {
		errs = append(errs, fmt.Errorf("query: max window %v is shorter than the default window %v", c.MaxWindow, c.DefaultWindow))
	}
	if c.QueryTimeout < time.Second {
		errs = append(errs, fmt.Errorf("query: timeout %v is under a second (ClickHouse limits whole seconds)", c.QueryTimeout))
	}
	if c.MaxLimit < 1 {
		errs = append(errs, fmt.Errorf("query: max limit %d must be at least 1", c.MaxLimit))
	}
	if c.StalledClientTimeout < time.Second {
		errs = append(errs, fmt.Errorf("query: stalled client timeout %v is under a second", c.StalledClientTimeout))
	}
	return errors.Join(errs...)
}

// Server is the HTTP API; it is an http.Handler.
type Server struct {
	cfg  Config
	rd   *reader.Reader
	log  *slog.Logger
	echo *echo.Echo
	// compressed is echo behind response compression, for /api/ paths.
	compressed http.Handler
	// requestDuration times requests by route and status.
	requestDuration *prometheus.HistogramVec
	// now is the clock windows are computed from.
	now func() time.Time
}

// New builds the API over rd.
func New(cfg Config, rd *reader.Reader, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, rd: rd, log: log, now: time.Now, requestDuration: newRequestDuration()}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	if cfg.TracerProvider != nil {
		e.Use(s.traced(cfg.TracerProvider.Tracer(tracerName)))
	}
	e.Use(s.observe, middleware.Recover(), s.requestContext)
	s.routes(e)
	s.echo = e
	compress, err := gzhttp.NewWrapper(
		gzhttp.MinSize(compressMinSize),
		gzhttp.ContentTypes([]string{echo.MIMEApplicationJSON}),
	)
	if err != nil {
		return nil, fmt.Errorf("query: response compression: %w", err)
	}
	s.compressed = compress(e)
	return s, nil
}

// tracerName is the instrumentation scope of the API's spans.
const tracerName = "github.com/coldtrace/coldtrace/query/server"

// compressMinSize is the smallest answer worth compressing (below about
// one packet, compression saves nothing).
const compressMinSize = 1400

// ServeHTTP implements http.Handler. API answers are compressed (zstd or
// gzip, as the client accepts; a 10,000-span trace is 5 MB of JSON), the
// streamed ones too: the compressor flushes whenever the stream does. The
// web UI's files are not: its handler serves them precompressed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := http.Handler(s.echo)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h = s.compressed
	}
	withProgressDeadline(w, r, s.cfg.StalledClientTimeout, h)
}

// Routes lists the registered API routes as "METHOD /path/{param}".
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if len(r.Path) > 4 && r.Path[:5] == "/api/" && r.Path != "/api/*" {
			out = append(out, r.Method+" "+openAPIPath(r.Path))
		}
	}
	return out
}

// openAPIPath turns echo's /a/:b into OpenAPI's /a/{b}.
func openAPIPath(p string) string {
	out := []byte{}
	for i := 0; i < len(p); i++ {
		if p[i] != ':' {
			out = append(out, p[i])
			continue
		}
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		out = append(out, '{')
		out = append(out, p[i+1:j]...)
		out = append(out, '}')
		i = j - 1
	}
	return string(out)
}

// requestContext puts the tenant and the query time limit into every
// request's context.
func (s *Server) requestContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		t := req.Header.Get(tenant.Header)
		if err := tenant.Validate(t); err != nil {
			return badParameter(tenant.Header, "%v", err)
		}
		ctx, cancel := context.WithTimeout(tenant.NewContext(req.Context(), t), s.cfg.QueryTimeout)
		defer cancel()
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

func (s *Server) routes(e *echo.Echo) {
	v1 := e.Group(api.Prefix)
	v1.GET("/status", s.status)
	v1.GET("/openapi.json", s.openAPI)
	v1.GET("/traces/:traceId", s.trace)
	v1.GET("/traces", s.searchTraces)
	v1.GET("/services", s.services)
	v1.GET("/services/:service/operations", s.operations)
	v1.GET("/functions", s.functions)
	v1.GET("/functions/:name/timeseries", s.timeseries)
	v1.GET("/functions/:name/instances", s.instances)
	v1.GET("/dependencies", s.dependencies)
	v1.GET("/attributes", s.attributeKeys)
	v1.GET("/attributes/:key/values", s.attributeValues)

	j := e.Group("/api")
	j.GET("/services", s.jaegerServices)
	j.GET("/services/:service/operations", s.jaegerServiceOperations)
	j.GET("/operations", s.jaegerOperations)
	j.GET("/traces/:traceId", s.jaegerTrace)
	j.GET("/traces", s.jaegerSearch)
	j.GET("/dependencies", s.jaegerDependencies)

	// Unknown API paths are JSON 404s; everything else is the web UI.
	e.Any("/api/*", func(echo.Context) error { return echo.ErrNotFound })
	e.Any("/*", s.ui)
}
