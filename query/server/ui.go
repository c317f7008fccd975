package server

import (
	"net/http"
	"path"

	"github.com/labstack/echo/v4"
)

// ui serves the web UI. A path without a file extension that the UI
// handler does not know is a client-side route of the single-page app: it
// gets the UI's index (/). Missing files (with an extension) stay 404s.
func (s *Server) ui(c echo.Context) error {
	if s.cfg.UI == nil {
		return echo.ErrNotFound
	}
	req := c.Request()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return echo.ErrMethodNotAllowed
	}
	if path.Ext(req.URL.Path) == "" && !s.uiHas(req) {
		index := req.Clone(req.Context())
		index.URL.Path, index.URL.RawPath = "/", ""
		req = index
	}
	s.cfg.UI.ServeHTTP(c.Response(), req)
	return nil
}

// uiHas reports whether the UI handler serves req's path itself, asking
// it with a HEAD request whose answer is discarded.
func (s *Server) uiHas(req *http.Request) bool {
	probe := req.Clone(req.Context())
	probe.Method = http.MethodHead
	w := &statusOnly{header: http.Header{}}
	s.cfg.UI.ServeHTTP(w, probe)
	return w.status == 0 || w.status < 400
}

// statusOnly is a ResponseWriter that keeps only the status code.
type statusOnly struct {
	header http.Header
	status int
}

func (w *statusOnly) Header() http.Header { return w.header }

func (w *statusOnly) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}

func (w *statusOnly) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
