package server

import (
	"net/http"
	"time"
)

// DefaultStalledClientTimeout bounds how long an answer waits for a client
// that takes no bytes. A streamed answer holds one of the few ClickHouse
// connections while it waits (the embedded engine has four), so a handful
// of clients that ask for a large trace and stop reading would otherwise
// hold the whole API for as long as they stay connected.
const DefaultStalledClientTimeout = 10 * time.Second

// progressWriter is a ResponseWriter each of whose writes must get its
// bytes to the client within d, however long the whole answer takes.
type progressWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *progressWriter) Write(b []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) // not every writer has one (tests' recorders)
	return w.ResponseWriter.Write(b)
}

func (w *progressWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	_ = w.rc.Flush()
}

func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withProgressDeadline serves r with w's writes bounded by d, and leaves
// the connection without a deadline for its next request.
func withProgressDeadline(w http.ResponseWriter, r *http.Request, d time.Duration, h http.Handler) {
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	h.ServeHTTP(&progressWriter{ResponseWriter: w, rc: rc, d: d}, r)
}
