package server

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/internal/tenant"
)

// traced makes a server span of every API request (named by its route,
// as the HTTP semantic conventions ask, so the span names stay few),
// continuing the caller's traceparent in the default tenant. The web UI's
// files are not traced.
func (s *Server) traced(tracer trace.Tracer) echo.MiddlewareFunc {
	prop := propagation.TraceContext{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/api/") {
				return next(c)
			}
			ctx := req.Context()
			// Coldtrace's own spans go to the default tenant: a caller
			// reading another tenant's data (a token bound to it sets
			// the header) starts a trace of its own rather than adding
			// spans to a trace of its choosing there.
			if req.Header.Get(tenant.Header) == "" {
				ctx = prop.Extract(ctx, propagation.HeaderCarrier(req.Header))
			}
			route := c.Path()
			ctx, span := tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					semconv.HTTPRequestMethodKey.String(req.Method),
					semconv.HTTPRoute(route),
					semconv.URLPath(req.URL.Path),
					semconv.URLQuery(req.URL.RawQuery),
				))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			// observe, inside this middleware, has written an error
			// answer by now, so the status is the one sent.
			err := next(c)
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			if err != nil && status >= 400 {
				// error.type of an HTTP error answer is its status code.
				span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			}
			return err
		}
	}
}
