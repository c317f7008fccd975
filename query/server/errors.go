package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/jaeger"
)

// apiError is an error with its HTTP status and API error body.
type apiError struct {
	status int
	body   api.Error
}

func (e *apiError) Error() string { return e.body.Message }

func badParameter(name, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, api.Error{
		Code: api.CodeBadParameter, Parameter: name, Message: name + ": " + fmt.Sprintf(format, args...),
	}}
}

func unknownParameter(name string) error {
	msg := fmt.Sprintf("unknown parameter %q", name)
	if name == "" {
		msg = `a query parameter has no name ("=value" or "&=")`
	}
	return &apiError{http.StatusBadRequest, api.Error{Code: api.CodeUnknownParameter, Parameter: name, Message: msg}}
}

func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf(format, args...)}}
}

// ClickHouse exception codes that mean the query ran too long.
const (
	chTimeoutExceeded = 159 // TIMEOUT_EXCEEDED
	chQueryCancelled  = 394 // QUERY_WAS_CANCELLED
)

// toAPIError classifies err.
func (s *Server) toAPIError(c echo.Context, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := api.CodeBadParameter
		switch he.Code {
		case http.StatusNotFound:
			code = api.CodeNotFound
		case http.StatusMethodNotAllowed:
			code = api.CodeNotFound
		}
		return &apiError{he.Code, api.Error{Code: code, Message: strings.ToLower(http.StatusText(he.Code))}}
	}
	var ex *clickhouse.Exception
	switch {
	case errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return &apiError{http.StatusServiceUnavailable, api.Error{Code: api.CodeUnavailable,
			Message: "every ClickHouse connection is busy; try again"}}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ex) && (ex.Code == chTimeoutExceeded || ex.Code == chQueryCancelled):
		// Connecting has a deadline of its own (a new connection waits for
		// the server, which may have none free), so this is not always the
		// query's limit.
		return &apiError{http.StatusGatewayTimeout, api.Error{Code: api.CodeTimeout,
			Message: fmt.Sprintf("ClickHouse did not answer in time: the query ran past the %v limit, or no connection to it came free; narrow the window or the filters, or try again", s.cfg.QueryTimeout)}}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		return &apiError{499, api.Error{Code: api.CodeTimeout, Message: "request cancelled"}}
	case isUnavailable(err):
		s.log.Warn("ClickHouse unavailable", "path", c.Path(), "err", err)
		return &apiError{http.StatusServiceUnavailable, api.Error{Code: api.CodeUnavailable, Message: "ClickHouse cannot be reached"}}
	}
	s.log.Error("query API request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	return &apiError{http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: "internal error; see the server log"}}
}

func isUnavailable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne)
}

// handleError writes err in the error shape of the API family the
// request belongs to.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := s.toAPIError(c, err)
	if werr := c.JSON(ae.status, errorResponse(c.Request().URL.Path, ae)); werr != nil {
		s.log.Debug("write error response", "err", werr)
	}
}

// errorResponse is ae's body in the error shape of path's API family.
func errorResponse(path string, ae *apiError) any {
	if isJaegerPath(path) {
		return jaeger.Response{Errors: []jaeger.Error{{Code: ae.status, Msg: ae.body.Message}}, Error: &ae.body}
	}
	return api.ErrorResponse{Error: ae.body}
}

// WriteUnauthorized answers a request the authentication in front of the
// API refused, in the API's error shape like every other error (the
// caller sets WWW-Authenticate). One message for every refusal: it does
// not say whether a token exists.
func WriteUnauthorized(w http.ResponseWriter, r *http.Request) {
	ae := &apiError{http.StatusUnauthorized, api.Error{Code: api.CodeUnauthorized,
		Message: "unauthorized: send Authorization: Bearer <token> with a token of the query scope (and, for a token bound to a tenant, no other tenant in X-Scope-OrgID)"}}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(errorResponse(r.URL.Path, ae)) // an error: the client went away
}

// isJaegerPath tells the Jaeger-compatible API's paths from /api/v1's.
func isJaegerPath(p string) bool {
	return strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, api.Prefix+"/") && p != api.Prefix
}
