package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/ingest/schema"
)

// otlpJSON is an OTLP/JSON request as the spec writes it: hex ids, enum
// numbers, nanosecond times as strings.
func otlpJSON(traceID string, start time.Time, spans int) string {
	var b strings.Builder
	for i := 0; i < spans; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"traceId":%q,"spanId":"%016x","parentSpanId":"","traceState":"k=v","name":"op-%d","kind":3,
			"startTimeUnixNano":"%d","endTimeUnixNano":"%d",
			"attributes":[{"key":"n","value":{"intValue":"%d"}},{"key":"ok","value":{"boolValue":true}},{"key":"bin","value":{"bytesValue":"AAEC"}},
			              {"key":"kv","value":{"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"b"}}]}}}],
			"links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","traceState":"lk=lv","attributes":[{"key":"why","value":{"stringValue":"fan-in"}}]}],
			"status":{"code":2,"message":"boom"}}`, traceID, 0x1000+i, i, start.UnixNano(), start.Add(time.Millisecond).UnixNano(), i)
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
		"scopeSpans":[{"scope":{"name":"raw","version":"0.1"},"spans":[` + b.String() + `]}]}]}`
}

func post(t *testing.T, url, contentType, encoding string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func countSpans(t *testing.T, s *ingesttest.Stack, traceID string) uint64 {
	t.Helper()
	s.WaitStored(t)
	var n uint64
	if err := s.Client.QueryRow(context.Background(), "SELECT count() FROM "+s.Table(schema.TracesTable)+" WHERE TraceId = ?", traceID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOTLPJSONWithHexIDs(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	traceID := "5b8efff798038103d269b633813fc60c"
	resp, body := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/json", "", []byte(otlpJSON(traceID, time.Now(), 1)))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	got := readSpans(t, s, traceID)["op-0"]
	if got.SpanID != "0000000000001000" || got.TraceState != "k=v" || got.SpanKind != "Client" || got.StatusCode != "Error" || got.StatusMessage != "boom" {
		t.Fatalf("stored %+v", got)
	}
	if fmt.Sprint(got.LinksTraceID, got.LinksSpanID, got.LinksTraceState) != "[0af7651916cd43dd8448eb211c80319c] [b7ad6b7169203331] [lk=lv]" {
		t.Fatalf("links %v %v %v", got.LinksTraceID, got.LinksSpanID, got.LinksTraceState)
	}
	if got.SpanAttributes["bin"] != "AAEC" || got.SpanAttributes["kv"] != `{"a":"b"}` || got.SpanAttributeTypes["bin"] != "bytes" || got.SpanAttributeTypes["kv"] != "map" {
		t.Fatalf("attributes %v types %v", got.SpanAttributes, got.SpanAttributeTypes)
	}
}

func TestCompressedBodies(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	for _, enc := range []string{"gzip", "zstd"} {
		traceID := fmt.Sprintf("%032x", time.Now().UnixNano())
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON([]byte(otlpJSON(traceID, time.Now(), 3))); err != nil {
			t.Fatal(err)
		}
		raw, err := req.MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if enc == "gzip" {
			w := gzip.NewWriter(&buf)
			w.Write(raw)
			w.Close()
		} else {
			w, _ := zstd.NewWriter(&buf)
			w.Write(raw)
			w.Close()
		}
		resp, body := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/x-protobuf", enc, buf.Bytes())
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", enc, resp.StatusCode, body)
		}
		if n := countSpans(t, s, traceID); n != 3 {
			t.Fatalf("%s: stored %d spans, want 3", enc, n)
		}
	}
}

// rpcStatus decodes an OTLP/HTTP error body (google.rpc.Status as JSON).
func rpcStatus(t *testing.T, body []byte) (code int, message string) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("error body %q is not a JSON google.rpc.Status: %v", body, err)
	}
	return st.Code, st.Message
}

func TestMalformedAndOversizedRequests(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true, Collector: func(c *collector.Config) { c.MaxRequestBytes = 64 << 10 }})
	url := "http://" + s.HTTPAddr + collector.TracesPath
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	gz.Write(make([]byte, 1<<20)) // 1 MiB of zeros, far under 64 KiB compressed
	gz.Close()
	cases := []struct {
		name, contentType, encoding string
		body                        []byte
		status                      int
		message                     string
	}{
		{"truncated JSON", "application/json", "", []byte(`{"resourceSpans":[{`), 400, "malformed OTLP JSON"},
		{"JSON of the wrong shape", "application/json", "", []byte(`{"resourceSpans":"x"}`), 400, "malformed OTLP JSON"},
		{"bad hex trace id", "application/json", "", []byte(otlpJSON("zz", time.Now(), 1)), 400, "malformed OTLP JSON"},
		{"garbage protobuf", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}, 400, "malformed OTLP protobuf"},
		{"not gzip", "application/json", "gzip", []byte("plain"), 400, "invalid gzip"},
		{"unknown encoding", "application/json", "br", []byte("{}"), 415, "unsupported Content-Encoding"},
		{"unknown content type", "text/plain", "", []byte("{}"), 415, "unsupported Content-Type"},
		{"oversized body", "application/x-protobuf", "", make([]byte, 65<<10), 413, "larger than"},
		{"decompression bomb", "application/x-protobuf", "gzip", bomb.Bytes(), 413, "decompressed request larger than"},
	}
	for _, c := range cases {
		resp, body := post(t, url, c.contentType, c.encoding, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if resp.Header.Get("Content-Type") == "application/json" {
			if code, msg := rpcStatus(t, body); code != int(codes.InvalidArgument) || !strings.Contains(msg, c.message) {
				t.Errorf("%s: status body code %d %q, want %q", c.name, code, msg, c.message)
			}
		} else if !strings.Contains(string(body), c.message) {
			t.Errorf("%s: body %q does not say %q", c.name, body, c.message)
		}
	}
	// gRPC: garbage bytes get INVALID_ARGUMENT with a message.
	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &rawBytes{b: []byte{0xff, 0xff, 0x0f}}, &rawBytes{}, grpc.ForceCodecV2(rawBytesCodec{}))
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "malformed OTLP protobuf") {
		t.Errorf("gRPC garbage: %v", err)
	}
	// A tenant no query could name back is refused, not stored.
	longTenant, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(otlpJSON(fmt.Sprintf("%032x", 7), time.Now(), 1)))
	longTenant.Header.Set("Content-Type", "application/json")
	longTenant.Header.Set("X-Scope-OrgID", strings.Repeat("t", 200))
	resp, err := http.DefaultClient.Do(longTenant)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("200-character tenant over HTTP: status %d, want 400", resp.StatusCode)
	}
	padded := metadata.AppendToOutgoingContext(context.Background(), "x-scope-orgid", "acme ")
	badTenant := ptraceotlp.NewExportRequest()
	if err := badTenant.UnmarshalJSON([]byte(otlpJSON(fmt.Sprintf("%032x", 8), time.Now(), 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(padded, badTenant); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "trailing spaces") {
		t.Errorf("tenant with a trailing space over gRPC: %v", err)
	}
	if n := countSpans(t, s, fmt.Sprintf("%032x", 7)) + countSpans(t, s, fmt.Sprintf("%032x", 8)); n != 0 {
		t.Errorf("stored %d spans of refused tenants", n)
	}
	// The receivers still serve after all of that.
	traceID := fmt.Sprintf("%032x", time.Now().UnixNano())
	if resp, body := post(t, url, "application/json", "", []byte(otlpJSON(traceID, time.Now(), 2))); resp.StatusCode != 200 {
		t.Fatalf("valid request after bad ones: %d %s", resp.StatusCode, body)
	}
	client := ptraceotlp.NewGRPCClient(conn)
	req := ptraceotlp.NewExportRequest()
	traceID2 := fmt.Sprintf("%032x", time.Now().UnixNano()+1)
	if err := req.UnmarshalJSON([]byte(otlpJSON(traceID2, time.Now(), 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Export(context.Background(), req); err != nil {
		t.Fatalf("valid gRPC request after bad ones: %v", err)
	}
	if countSpans(t, s, traceID) != 2 || countSpans(t, s, traceID2) != 2 {
		t.Fatal("valid requests after bad ones were not stored")
	}
}

func TestUnstorableSpansArePartialSuccess(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	traceID := fmt.Sprintf("%032x", time.Now().UnixNano())
	old := otlpJSON(traceID, time.Now().Add(-60*24*time.Hour), 2) // retention in ingesttest is 30 days
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(otlpJSON(traceID, time.Now(), 1)))
	fresh.ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	// OTLP requires both ids; an empty one is all zeroes.
	noTraceID, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(otlpJSON("", time.Now(), 2)))
	noTraceID.ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	noSpanID := td.ResourceSpans().AppendEmpty()
	fresh.ResourceSpans().At(0).CopyTo(noSpanID)
	noSpanID.ScopeSpans().At(0).Spans().At(0).SetSpanID(pcommon.NewSpanIDEmpty())
	// ClickHouse's DateTime ends in 2106: the TTL cannot count to these spans' expiry.
	lateID := fmt.Sprintf("%032x", time.Now().UnixNano()+1)
	late, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(otlpJSON(lateID, time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC), 2)))
	late.ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	req := ptraceotlp.NewExportRequestFromTraces(td)
	body, _ := req.MarshalJSON()
	resp, out := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/json", "", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalJSON(out); err != nil {
		t.Fatal(err)
	}
	msg := er.PartialSuccess().ErrorMessage()
	if er.PartialSuccess().RejectedSpans() != 7 || !strings.Contains(msg, "2 spans started more than") || !strings.Contains(msg, "3 spans had an empty") ||
		!strings.Contains(msg, "2 spans started after 2106-01-08T05:28:15Z, too late") {
		t.Fatalf("partial success: %d %q", er.PartialSuccess().RejectedSpans(), msg)
	}
	if n := countSpans(t, s, traceID); n != 1 {
		t.Fatalf("stored %d spans, want the 1 fresh one", n)
	}
	if n := countSpans(t, s, ""); n != 0 {
		t.Fatalf("stored %d spans without a trace id", n)
	}
}

// TestRetriedRequestIsStoredOnce sends what an OTLP exporter sends when an
// answer is lost or late: the same request again. It is acknowledged and
// stored once, and a request repeating one span stores it once.
func TestRetriedRequestIsStoredOnce(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	traceID := fmt.Sprintf("%032x", time.Now().UnixNano())
	body := []byte(otlpJSON(traceID, time.Now(), 3))
	for range 3 {
		resp, out := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/json", "", body)
		if resp.StatusCode != 200 || strings.Contains(string(out), "rejected") {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
	}
	if n := countSpans(t, s, traceID); n != 3 {
		t.Fatalf("stored %d spans, want 3", n)
	}
	if got := s.Pipeline.Stats().SpansRepeated.Load(); got != 6 {
		t.Errorf("%d spans counted as repeated, want 6", got)
	}

	// Copies sent at the same moment: each waits for the one being stored.
	concurrentID := fmt.Sprintf("%032x", time.Now().UnixNano()+2)
	concurrent := []byte(otlpJSON(concurrentID, time.Now(), 3))
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, out := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/json", "", concurrent)
			if resp.StatusCode != 200 {
				t.Errorf("concurrent copy: status %d: %s", resp.StatusCode, out)
			}
		})
	}
	wg.Wait()
	if n := countSpans(t, s, concurrentID); n != 3 {
		t.Errorf("stored %d spans of 10 concurrent copies of 3, want 3", n)
	}

	twiceID := fmt.Sprintf("%032x", time.Now().UnixNano()+1)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(otlpJSON(twiceID, time.Now(), 2)))
	if err != nil {
		t.Fatal(err)
	}
	td.ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())
	req := ptraceotlp.NewExportRequestFromTraces(td)
	twice, _ := req.MarshalJSON()
	if resp, out := post(t, "http://"+s.HTTPAddr+collector.TracesPath, "application/json", "", twice); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if n := countSpans(t, s, twiceID); n != 2 {
		t.Fatalf("stored %d spans of a request repeating 2, want 2", n)
	}
}

// nestedValue is an OTLP/JSON attribute value of n maps (or arrays), one
// inside the other, around a string.
func nestedValue(n int, array bool) string {
	v := `{"stringValue":"x"}`
	for i := 0; i < n; i++ {
		if array {
			v = `{"arrayValue":{"values":[` + v + `]}}`
		} else {
			v = `{"kvlistValue":{"values":[{"key":"k","value":` + v + `}]}}`
		}
	}
	return v
}

// A JSON request may nest attribute values deeper than its protobuf form,
// in which ingest spools it, can be decoded: such a request is refused up
// front; one just within the limit is stored.
func TestDeeplyNestedJSONValues(t *testing.T) {
	s := ingesttest.Start(t, ingesttest.Options{Spool: true})
	url := "http://" + s.HTTPAddr + collector.TracesPath
	request := func(traceID, value string) []byte {
		return []byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"deep"}}]},"scopeSpans":[{"spans":[
			{"traceId":"` + traceID + `","spanId":"0000000000000001","name":"plain","startTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `","endTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `"},
			{"traceId":"` + traceID + `","spanId":"0000000000000002","name":"deep","startTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `","endTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `",
			 "events":[{"name":"e","timeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `","attributes":[{"key":"v","value":` + value + `}]}]}]}]}]}`)
	}
	for i, c := range []struct {
		depth  int
		array  bool
		stored bool
	}{{24, false, true}, {24, true, true}, {25, false, false}, {25, true, false}, {40, false, false}} {
		traceID := fmt.Sprintf("%032x", 0xdee0+i)
		resp, out := post(t, url, "application/json", "", request(traceID, nestedValue(c.depth, c.array)))
		if c.stored {
			if resp.StatusCode != 200 {
				t.Fatalf("depth %d (array %v): status %d %s", c.depth, c.array, resp.StatusCode, out)
			}
			if n := countSpans(t, s, traceID); n != 2 {
				t.Errorf("depth %d (array %v): acknowledged, stored %d of 2 spans", c.depth, c.array, n)
			}
			continue
		}
		if code, msg := rpcStatus(t, out); resp.StatusCode != 400 || code != int(codes.InvalidArgument) || !strings.Contains(msg, "more than 24 deep") {
			t.Errorf("depth %d (array %v): status %d %s", c.depth, c.array, resp.StatusCode, out)
		}
	}
}

// rawBytes and rawBytesCodec send arbitrary bytes as a gRPC message.
type rawBytes struct{ b []byte }

type rawBytesCodec struct{}

func (rawBytesCodec) Name() string { return "proto" }

func (rawBytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawBytes).b)}, nil
}

func (rawBytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawBytes).b = data.Materialize()
	return nil
}
