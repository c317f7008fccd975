package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/internal/consumer"
)

// Requests beyond MaxInflightBytes wait for room, then are told to retry
// (429 with Retry-After), so a burst of large requests cannot take all
// memory; once room returns, requests are served again.
func TestInflightBytesAreBounded(t *testing.T) {
	held, release := make(chan struct{}, 1), make(chan struct{})
	r, err := New(Config{HTTPAddr: "127.0.0.1:0", MaxRequestBytes: 4 << 10, MaxInflightBytes: 4 << 10, ReadTimeout: DefaultReadTimeout},
		consumer.TracesFunc(func(context.Context, ptrace.Traces) error {
			select {
			case held <- struct{}{}:
				<-release // the first request holds its bytes
			default:
			}
			return nil
		}), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := r.HTTPHandler()
	post := func() *httptest.ResponseRecorder {
		// Padded with spaces to just under MaxRequestBytes.
		body := seedJSON + strings.Repeat(" ", 4<<10-len(seedJSON)-1)
		req := httptest.NewRequest(http.MethodPost, TracesPath, strings.NewReader(body))
		req.Header.Set("Content-Type", contentTypeJSON)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- post() }()
	<-held
	start := time.Now()
	if w := post(); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("request beyond the bytes in flight: %d %q", w.Code, w.Body.String())
	}
	if waited := time.Since(start); waited < inflightWait/2 {
		t.Errorf("refused after %v: it should wait for room first", waited)
	}
	if got := r.Stats().RequestsThrottled.Load(); got != 1 {
		t.Errorf("%d requests counted as throttled, want 1", got)
	}
	close(release)
	if w := <-first; w.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", w.Code, w.Body.String())
	}
	if w := post(); w.Code != http.StatusOK {
		t.Errorf("request once room returned: %d %s", w.Code, w.Body.String())
	}
}

func TestInflightBytesAtLeastARequest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxInflightBytes = cfg.MaxRequestBytes - 1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_inflight_bytes") {
		t.Errorf("Validate with room for less than one request: %v", err)
	}
}
