package collector

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/coldtrace/coldtrace/internal/consumer"
)

// Seeds: a valid request in each encoding, with every kind of value.
const seedJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"fn"}},{"key":"faas.max_memory","value":{"intValue":"134217728"}}]},
"scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b175",
"name":"GET /","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",
"attributes":[{"key":"b","value":{"boolValue":true}},{"key":"d","value":{"doubleValue":1.5}},{"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}},
{"key":"m","value":{"kvlistValue":{"values":[{"key":"k","value":{"intValue":"1"}}]}}},{"key":"y","value":{"bytesValue":"AAE="}}],
"events":[{"timeUnixNano":"1700000000050000000","name":"e","attributes":[{"key":"k","value":{"stringValue":"v"}}]}],
"links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","traceState":"a=b"}],"status":{"code":2,"message":"x"}}]}]}]}`

// fuzzReceiver decodes requests and checks what reaches the consumer is
// well formed.
func fuzzReceiver(t testing.TB) http.Handler {
	r, err := New(Config{HTTPAddr: "127.0.0.1:0", MaxRequestBytes: 1 << 20, MaxInflightBytes: 1 << 20, ReadTimeout: DefaultReadTimeout}, consumer.TracesFunc(func(_ context.Context, td ptrace.Traces) error {
		_ = td.SpanCount()
		return nil
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.HTTPHandler()
}

func fuzzHTTP(f *testing.F, contentType string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	h := fuzzReceiver(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, TracesPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		// Any input is either accepted or refused as the sender's fault;
		// never a server error.
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if w.Code == http.StatusBadRequest && w.Body.Len() == 0 {
			t.Fatal("400 without a message")
		}
	})
}

func FuzzOTLPJSON(f *testing.F) {
	fuzzHTTP(f, contentTypeJSON, []byte(seedJSON), []byte(`{}`), []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}`))
}

func FuzzOTLPProtobuf(f *testing.F) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(seedJSON)); err != nil {
		f.Fatal(err)
	}
	b, err := req.MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	fuzzHTTP(f, contentTypeProto, b, []byte{}, b[:len(b)/2])
}
