package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

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

// raw writes text as it is. A bufio.Writer keeps its first error and
// returns it from every later write and flush, so the next item or end
// reports it.
func (s *jsonStream) raw(text string) { _, _ = s.w.WriteString(text) }

func (s *jsonStream) value(v any) error { return s.enc.Encode(v) }

// item writes v as an element of an array, after a comma unless first.
func (s *jsonStream) item(first bool, v any) error {
	if !first {
		_ = s.w.WriteByte(',') // its error is the Encode's below
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

// streamTrace writes the one trace of st as an api.Trace: each span as
// it is read, then the summary, computed as the spans pass (one query,
// whatever the trace's size). The response begins with the first span:
// without any, it is errNoSpans and nothing is written.
func (s *Server) streamTrace(c echo.Context, st *reader.SpanStream) error {
	sp, err := st.Next()
	if err != nil {
		return err
	}
	if sp == nil {
		return errNoSpans
	}
	out := startStream(c)
	out.raw(`{"traceId":` + strconv.Quote(sp.TraceID) + `,"spans":[`)
	var shape traceShape
	for first := true; sp != nil; first = false {
		shape.add(sp)
		if err := out.item(first, sp); err != nil {
			return s.abort(c, err)
		}
		if sp, err = st.Next(); err != nil {
			return s.abort(c, err)
		}
	}
	out.raw(`],"summary":`)
	if err := out.value(st.Summary()); err != nil {
		return s.abort(c, err)
	}
	stored, err := st.StoredSpans(c.Request().Context())
	if err != nil {
		return s.abort(c, err)
	}
	if w := shape.warnings(stored); w != nil {
		out.raw(`,"warnings":`)
		if err := out.value(w); err != nil {
			return s.abort(c, err)
		}
	}
	out.raw("}")
	if err := out.end(); err != nil {
		return s.abort(c, err)
	}
	return nil
}

// streamJaegerTraces writes the spans of st, grouped by trace, as traces
// in Jaeger's model inside its envelope. The response begins with the
// first span: without any, it is errNoSpans and nothing is written.
func (s *Server) streamJaegerTraces(c echo.Context, st *reader.SpanStream) error {
	sp, err := st.Next()
	if err != nil {
		return err
	}
	if sp == nil {
		return errNoSpans
	}
	out := startStream(c)
	out.raw(`{"data":[`)
	var (
		cur       string
		builder   *jaeger.TraceBuilder
		shape     traceShape
		traces    int
		firstSpan bool
	)
	closeTrace := func() error {
		if builder == nil {
			return nil
		}
		out.raw(`],"processes":`)
		if err := out.value(builder.Processes()); err != nil {
			return err
		}
		stored, err := st.StoredSpans(c.Request().Context())
		if err != nil {
			return err
		}
		out.raw(`,"warnings":`)
		if err := out.value(shape.warnings(stored)); err != nil {
			return err
		}
		out.raw(`}`)
		return nil
	}
	for sp != nil {
		if sp.TraceID != cur {
			if err := closeTrace(); err != nil {
				return s.abort(c, err)
			}
			if traces > 0 {
				out.raw(",")
			}
			cur, builder, shape, firstSpan = sp.TraceID, jaeger.NewTraceBuilder(), traceShape{}, true
			traces++
			out.raw(`{"traceID":` + strconv.Quote(cur) + `,"spans":[`)
		}
		shape.add(sp)
		if err := out.item(firstSpan, builder.Span(sp)); err != nil {
			return s.abort(c, err)
		}
		firstSpan = false
		if sp, err = st.Next(); err != nil {
			return s.abort(c, err)
		}
	}
	if err := closeTrace(); err != nil {
		return s.abort(c, err)
	}
	out.raw(fmt.Sprintf(`],"total":%d,"limit":0,"offset":0,"errors":null}`, traces))
	if err := out.end(); err != nil {
		return s.abort(c, err)
	}
	return nil
}

// errNoSpans reports a span query without results.
var errNoSpans = errors.New("no spans")

// streamOneTrace reads trace id through the trace-id lookup and writes it
// with write. A trace the lookup does not know (yet) is read again from the
// caller's hinted window, when there is one. Nothing found is errNoSpans.
func (s *Server) streamOneTrace(c echo.Context, id string, hint *reader.Window,
	write func(echo.Context, *reader.SpanStream) error,
) error {
	ctx := c.Request().Context()
	st, err := s.rd.OpenTraceSpans(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	err = write(c, st)
	if !errors.Is(err, errNoSpans) || hint == nil {
		return err
	}
	hinted, err := s.rd.OpenSpans(ctx, []string{id}, *hint)
	if err != nil {
		return err
	}
	defer hinted.Close()
	return write(c, hinted)
}
