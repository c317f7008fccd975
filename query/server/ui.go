package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// ui serves the web UI for every path the API does not route. The UI
// handler alone decides what is a client-side route of the single-page
// app (it serves its index) and what is a 404: the operational endpoints
// (/readyz, /healthz, /metrics), when --admin-addr serves them elsewhere,
// must stay 404s here, and a fallback of our own to the index turned them
// into HTML 200s that a health probe took for healthy.
func (s *Server) ui(c echo.Context) error {
	if s.cfg.UI == nil {
		return echo.ErrNotFound
	}
	req := c.Request()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return echo.ErrMethodNotAllowed
	}
	s.cfg.UI.ServeHTTP(c.Response(), req)
	return nil
}
