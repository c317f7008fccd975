package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/jaeger"
	"github.com/coldtrace/coldtrace/query/reader"
)

// flushEvery is how many spans are written between flushes, so a client
// receives a big trace as it is read.
const flushEvery = 1000

// jsonStream writes one JSON document piece by piece to a response that
// has already begun: a failure after the first byte cannot become an
// error response, so abort drops the connection and the client sees a
// broken transfer instead of a truncated document.
type jsonStream struct {
	w   *bufio.Writer
	enc *json.Encoder
	res *echo.Response
	n   int
}

func startStream(c echo.Context) *jsonStream {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	res.WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(res, 64<<10)
	return &jsonStream{w: w, enc: json.NewEncoder(w), res: res}
}

func (s *jsonStream) raw(text string) { s.w.WriteString(text) }

func (s *jsonStream) value(v any) error { return s.enc.Encode(v) }

// item writes v as an element of an array, after a comma unless first.
func (s *jsonStream) item(first bool, v any) error {
	if !first {
		s.w.WriteByte(',')
	}
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	if s.n++; s.n%flushEvery == 0 {
		if err := s.w.Flush(); err != nil {
			return err
		}
		s.res.Flush()
	}
	return nil
}

func (s *jsonStream) end() error { return s.w.Flush() }

func (s *Server) abort(c echo.Context, err error) error {
	s.log.Error("response aborted mid-stream", "path", c.Request().URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// streamTrace writes an api.Trace: summary first, then each span as the
// reader produces it.
func (s *Server) streamTrace(c echo.Context, info *reader.TraceInfo) error {
	st := startStream(c)
	st.raw(`{"traceId":` + strconv.Quote(info.Summary.TraceID) + `,"summary":`)
	if err := st.value(info.Summary); err != nil {
		return s.abort(c, err)
	}
	st.raw(`,"spans":[`)
	first := true
	err := s.rd.Spans(c.Request().Context(), []string{info.Summary.TraceID}, info.Spans, func(sp *api.Span) error {
		err := st.item(first, sp)
		first = false
		return err
	})
	if err != nil {
		return s.abort(c, err)
	}
	st.raw("]}")
	if err := st.end(); err != nil {
		return s.abort(c, err)
	}
	return nil
}

// streamJaegerTraces writes the traces ids (in that order; those without
// spans in w are left out) in Jaeger's model inside its envelope.
func (s *Server) streamJaegerTraces(c echo.Context, ids []string, w reader.Window) error {
	st := startStream(c)
	st.raw(`{"data":[`)
	var (
		cur      string
		builder  *jaeger.TraceBuilder
		traces   int
		firstSpn bool
	)
	closeTrace := func() error {
		if builder == nil {
			return nil
		}
		st.raw(`],"processes":`)
		if err := st.value(builder.Processes()); err != nil {
			return err
		}
		st.raw(`,"warnings":null}`)
		return nil
	}
	err := s.rd.Spans(c.Request().Context(), ids, w, func(sp *api.Span) error {
		if sp.TraceID != cur {
			if err := closeTrace(); err != nil {
				return err
			}
			if traces > 0 {
				st.raw(",")
			}
			cur, builder, firstSpn = sp.TraceID, jaeger.NewTraceBuilder(), true
			traces++
			st.raw(`{"traceID":` + strconv.Quote(cur) + `,"spans":[`)
		}
		err := st.item(firstSpn, builder.Span(sp))
		firstSpn = false
		return err
	})
	if err == nil {
		err = closeTrace()
	}
	if err != nil {
		return s.abort(c, err)
	}
	st.raw(fmt.Sprintf(`],"total":%d,"limit":0,"offset":0,"errors":null}`, traces))
	if err := st.end(); err != nil {
		return s.abort(c, err)
	}
	return nil
}
