package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/query/api"
)

// A trace of 50,000 spans is streamed: the response has no length
// (chunked), every span arrives once, in start order.
func TestLargeTraceIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 50,000 spans")
	}
	const spans = 50_000
	s := ingesttest.Start(t)
	id := sendWideTrace(t, s.GRPCAddr, spans, "root")

	srv := apiHandler(t, s)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	// Go's client asks for gzip and decompresses as it reads.
	res, err := ts.Client().Get(ts.URL + "/api/v1/traces/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.ContentLength != -1 || !res.Uncompressed {
		t.Fatalf("status %d, content length %d, gzip %v: want 200, streamed, compressed", res.StatusCode, res.ContentLength, res.Uncompressed)
	}
	checkStreamedTrace(t, res.Body, id, spans)

	// Compressed, it still streams: compressed bytes reach the connection
	// at every flush (every 1,000 spans), long before the last span.
	for _, enc := range []string{"gzip", "zstd"} {
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/traces/"+id, nil)
		req.Header.Set("Accept-Encoding", enc)
		srv.ServeHTTP(rec, req)
		total := rec.Body.Len()
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != enc {
			t.Fatalf("%s: status %d, Content-Encoding %q", enc, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if len(rec.flushed) < spans/1000-1 || rec.flushed[0] == 0 || rec.flushed[0] > total/10 {
			t.Errorf("%s: flushed at %v of %d compressed bytes: want a flush every 1,000 spans, the first early", enc, rec.flushed, total)
		}
		for i := 1; i < len(rec.flushed); i++ {
			if rec.flushed[i] <= rec.flushed[i-1] {
				t.Errorf("%s: flush %d sent nothing new (%v)", enc, i, rec.flushed)
				break
			}
		}
		body := decompress(t, &http.Response{Header: rec.Header()}, rec.Body.Bytes())
		checkStreamedTrace(t, bytes.NewReader(body), id, spans)
		t.Logf("%s: %d bytes compressed to %d, %d flushes", enc, len(body), total, len(rec.flushed))
	}
}

// flushRecorder records how much of the body had been written at each
// flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushed []int
}

func (r *flushRecorder) Flush() {
	r.flushed = append(r.flushed, r.Body.Len())
	r.ResponseRecorder.Flush()
}

// checkStreamedTrace decodes a trace of n spans token by token, as a
// streaming client would: every span once, in start order, then the
// summary.
func checkStreamedTrace(t *testing.T, body io.Reader, id string, spans int) {
	t.Helper()
	dec := json.NewDecoder(body)
	var (
		got     api.Trace
		count   int
		lastTs  int64
		summary api.TraceSummary
	)
	expect := func(want json.Delim) {
		tok, err := dec.Token()
		if err != nil || tok != want {
			t.Fatalf("token %v %v, want %v", tok, err, want)
		}
	}
	expect('{')
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch key {
		case "traceId":
			if err := dec.Decode(&got.TraceID); err != nil {
				t.Fatal(err)
			}
		case "summary":
			if err := dec.Decode(&summary); err != nil {
				t.Fatal(err)
			}
		case "spans":
			expect('[')
			for dec.More() {
				var sp api.Span
				if err := dec.Decode(&sp); err != nil {
					t.Fatalf("span %d: %v", count, err)
				}
				if sp.StartTimeUnixNano < lastTs || sp.TraceID != id {
					t.Fatalf("span %d out of order or of another trace", count)
				}
				lastTs = sp.StartTimeUnixNano
				count++
			}
			expect(']')
		default:
			t.Fatalf("unexpected key %v", key)
		}
	}
	expect('}')
	if got.TraceID != id || count != spans || summary.SpanCount != uint64(spans) || summary.RootOperation != "root" {
		t.Errorf("trace %s: %d spans, summary %+v", got.TraceID, count, summary)
	}
}
