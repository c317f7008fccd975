package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// getWithToken GETs u with a bearer token ("" for none).
func getWithToken(t *testing.T, u, token string) (int, string) {
	t.Helper()
	if token == "" {
		return getWith(t, u)
	}
	return getWith(t, u, "Authorization", "Bearer "+token)
}

// requestCount reads the request count of one series of
// coldtrace_query_request_duration_seconds from a /metrics page.
func requestCount(metrics, route, code string) string {
	re := regexp.MustCompile(`coldtrace_query_request_duration_seconds_count\{code="` + code + `",route="` + regexp.QuoteMeta(route) + `"\} (\d+)`)
	if m := re.FindStringSubmatch(metrics); m != nil {
		return m[1]
	}
	return "0"
}

// The query role alone, against a ClickHouse server (the embedded engine
// of a second coldtrace, over HTTP), with a token: the API requires it,
// /readyz checks ClickHouse, /metrics (on its own listener) times the
// API's requests by route, and a request body that stalls is cut off on
// both listeners.
func TestQueryRole(t *testing.T) {
	const token = "query-role-test-token-0123456789"
	chAddr := freeAddr(t)
	server := start(t, nil, "up", "--data-dir", t.TempDir(), "--clickhouse-http-addr", chAddr,
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t))
	waitHTTP(t, server, "http://"+chAddr+"/ping")

	httpAddr, adminAddr := freeAddr(t), freeAddr(t)
	q := start(t, noLibraryEnv(t), "query", "--clickhouse", "http://"+chAddr,
		"--http-addr", httpAddr, "--admin-addr", adminAddr, "--auth-token", token)
	waitHTTP(t, q, "http://"+adminAddr+"/healthz")
	waitHTTP(t, q, "http://"+httpAddr+"/")
	// Requests whose bodies stall, answered at the end of the test.
	stalledAPI, stalledAdmin := stallBody(t, httpAddr, "/api/v1/status"), stallBody(t, adminAddr, "/healthz")
	if code, body := getWith(t, "http://"+adminAddr+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"clickhouse":"ok"`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	api := "http://" + httpAddr + "/api/v1"
	if code, _ := getWithToken(t, api+"/status", ""); code != http.StatusUnauthorized {
		t.Errorf("status without the token: %d, want 401", code)
	}
	if code, body := getWithToken(t, api+"/status", token); code != http.StatusOK {
		t.Fatalf("status with the token: %d %s", code, body)
	}
	if code, _ := getWithToken(t, api+"/traces/4bf92f3577b34da6a3ce929d0e0e4736", token); code != http.StatusNotFound {
		t.Errorf("unknown trace: %d, want 404", code)
	}
	// The UI's files need no token.
	if code, _ := getWithToken(t, "http://"+httpAddr+"/", ""); code != http.StatusOK {
		t.Errorf("web UI without the token: %d", code)
	}

	if code, _ := getWithToken(t, "http://"+adminAddr+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	code, metrics := getWithToken(t, "http://"+adminAddr+"/metrics", token)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, metrics)
	}
	for _, s := range []struct{ route, code, count string }{
		{"/api/v1/status", "200", "1"},
		{"/api/v1/traces/:traceId", "404", "1"},
		{"/*", "200", "2"}, // waitHTTP and the check above
	} {
		if got := requestCount(metrics, s.route, s.code); got != s.count {
			t.Errorf("requests to %s answered %s: %s, want %s", s.route, s.code, got, s.count)
		}
	}
	if strings.Contains(metrics, "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Error("a trace id is a metric label")
	}
	// Neither listener reads a body, but Go reads a small one before
	// answering: the read timeouts (admin 10 s, API 30 s) end the wait.
	answeredAndClosed(t, stalledAdmin, http.StatusOK)
	answeredAndClosed(t, stalledAPI, http.StatusUnauthorized)
	if strings.Contains(q.finalOutput(), "embedded ClickHouse started") {
		t.Fatal("the query role started an embedded engine")
	}
}

// stallBody sends a GET's headers, announcing a body, and the body's first
// bytes, then nothing more.
func stallBody(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(2 * time.Minute)) // only so that a missing bound fails the test
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: coldtrace\r\nContent-Length: 100\r\n\r\n0123456789", path)
	return conn
}

// answeredAndClosed reads a stalled request's answer and checks the
// server closed the connection after it.
func answeredAndClosed(t *testing.T, conn net.Conn, wantStatus int) {
	t.Helper()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request with a stalled body, want %d: %v", wantStatus, err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != wantStatus {
		t.Errorf("request with a stalled body: %d, want %d", resp.StatusCode, wantStatus)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("connection after the answer: %q, %v; want it closed", rest, err)
	}
}

// coldtrace up serves /metrics on its API listener, with the API's
// request timings.
func TestUpQueryMetrics(t *testing.T) {
	httpAddr := freeAddr(t)
	up := start(t, nil, "up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t),
		"--http-addr", httpAddr, "--gateway-addr", freeAddr(t))
	waitHTTP(t, up, "http://"+httpAddr+"/healthz")
	base := "http://" + httpAddr
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := getWith(t, base+"/api/v1/services"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the API did not answer")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, metrics := getWith(t, base+"/metrics")
	if got := requestCount(metrics, "/api/v1/services", "200"); got == "0" {
		t.Errorf("/metrics has no timing of /api/v1/services:\n%s", metrics)
	}
	if !strings.Contains(metrics, "coldtrace_ingest_spans_received_total") {
		t.Error("/metrics lost the ingest metrics")
	}
}
