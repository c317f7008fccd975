package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/internal/consumer"
)

const testToken = "slow-body-test-token-0123456789"

// startHTTPReceiver serves OTLP/HTTP on a loopback port behind the token
// check the collector command installs.
func startHTTPReceiver(t *testing.T, cfg Config) *Receiver {
	t.Helper()
	authn, err := auth.New(auth.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.HTTPAddr = "", "127.0.0.1:0"
	r, err := New(cfg, consumer.TracesFunc(func(context.Context, ptrace.Traces) error { return nil }), nil,
		WithHTTPMiddleware(func(h http.Handler) http.Handler {
			return authn.HTTPRefusing(auth.ScopeIngest, h, WriteUnauthorized)
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r
}

// post sends an OTLP/HTTP JSON request with Go's client.
func post(t *testing.T, r *Receiver, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+r.HTTPAddr()+TracesPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentTypeJSON)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s (%d bytes): %v", TracesPath, len(body), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	return resp.StatusCode, string(b)
}

// postWholeBody writes a whole OTLP/HTTP JSON request, then reads the
// answer, as curl and most simple clients do (Go's client reads the answer
// while it writes, so it sees a refusal a reset would hide from them).
func postWholeBody(t *testing.T, r *Receiver, body []byte, encoding string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute)) // only so that a hang fails the test
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "POST %s HTTP/1.1\r\nHost: otlp\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n",
		TracesPath, testToken, contentTypeJSON, encoding, len(body))
	bw.Write(body)
	if err := bw.Flush(); err != nil {
		t.Fatalf("send %d bytes as %s: %v", len(body), encoding, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stall sends a request's headers and the first bytes of its body, then
// nothing more.
func stall(t *testing.T, r *Receiver, header string, contentLength int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Only so that a missing bound fails the test instead of hanging it.
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: otlp\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n%s",
		TracesPath, contentTypeJSON, header, contentLength, seedJSON[:10])
	return conn
}

// answerThenClose reads the stalled request's answer and checks the server
// closed the connection after it.
func answerThenClose(t *testing.T, conn net.Conn, wantStatus int, wantMessage string) {
	t.Helper()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("stalled request, want %d: %v", wantStatus, err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus || !strings.Contains(string(b), wantMessage) {
		t.Errorf("stalled request: %d %s, want %d with %q", resp.StatusCode, b, wantStatus, wantMessage)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("connection after the answer: %q, %v; want it closed", rest, err)
	}
}

// A body that stops arriving is cut off at the read timeout: the sender
// gets a retryable 503 (401 without a token), its connection is closed and its share
// of the bytes in flight is given back, while other senders are served.
func TestStalledBodyIsCutOffAndGivesBackItsRoom(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRequestBytes, cfg.MaxInflightBytes = 1<<20, 1<<20
	cfg.ReadTimeout = 2 * time.Second // small, but ample for the requests that do arrive
	r := startHTTPReceiver(t, cfg)

	withToken := []net.Conn{
		stall(t, r, "Authorization: Bearer "+testToken+"\r\n", 1000000),
		stall(t, r, "Authorization: Bearer "+testToken+"\r\n", 1000000),
	}
	withoutToken := stall(t, r, "", 100)

	if code, body := post(t, r, []byte(seedJSON)); code != http.StatusOK {
		t.Errorf("export beside the stalled requests: %d %s", code, body)
	}
	for _, conn := range withToken {
		answerThenClose(t, conn, http.StatusServiceUnavailable, fmt.Sprintf("request body not received within %v", cfg.ReadTimeout))
	}
	answerThenClose(t, withoutToken, http.StatusUnauthorized, "unauthorized")

	// Padded with spaces to MaxRequestBytes: it needs the whole room.
	full := seedJSON + strings.Repeat(" ", int(cfg.MaxRequestBytes)-len(seedJSON))
	if code, body := post(t, r, []byte(full)); code != http.StatusOK {
		t.Errorf("full-size export after the stalled requests: %d %s", code, body)
	}
	if n := r.Stats().RequestsThrottled.Load(); n != 0 {
		t.Errorf("%d requests throttled; the stalled requests' room was not given back", n)
	}
}

// A body that has sent a few bytes holds a few KiB of the bytes in
// flight, not a large step, so stalled senders cannot fill the bound
// before the read timeout cuts them off.
func TestStalledBodiesHoldLittleRoom(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRequestBytes, cfg.MaxInflightBytes = 1<<20, 1<<20
	cfg.ReadTimeout = time.Minute // the stalled bodies stay for the whole test
	r := startHTTPReceiver(t, cfg)
	for i := 0; i < 8; i++ {
		before := heldBytes(r)
		stall(t, r, "Authorization: Bearer "+testToken+"\r\n", 1000000)
		// On to the next once this one holds its room, or once half the
		// bound is held, which is what this test is there to catch.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			held := heldBytes(r)
			if held > before || 2*held > cfg.MaxInflightBytes {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stalled request %d took no room in flight", i+1)
			}
		}
	}
	if held := heldBytes(r); held > 64<<10 {
		t.Errorf("8 stalled requests that sent 10 bytes each hold %d bytes in flight", held)
	}
	// Padded with spaces to 60 % of the bound: with what it may hold
	// ahead of its bytes, it needs at most 90 %.
	large := seedJSON + strings.Repeat(" ", int(cfg.MaxInflightBytes)*6/10-len(seedJSON))
	if code, body := post(t, r, []byte(large)); code != http.StatusOK {
		t.Errorf("export beside the stalled requests: %d %s", code, body)
	}
}

// heldBytes is how much of the bytes in flight requests hold now: the
// bound less the most a TryAcquire gets.
func heldBytes(r *Receiver) int64 {
	lo, hi := int64(0), r.cfg.MaxInflightBytes // lo is always acquirable
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if r.inflight.TryAcquire(mid) {
			r.inflight.Release(mid)
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return r.cfg.MaxInflightBytes - lo
}

// A large body that is not what its Content-Encoding says gets a 400 the
// sender can read, not a reset connection that it would retry forever.
func TestCorruptCompressedBodyGets400(t *testing.T) {
	r := startHTTPReceiver(t, DefaultConfig())
	// More than loopback's socket buffers take, under the 20 MiB limit.
	random := make([]byte, 16<<20)
	rand.Read(random)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(random)
	zw.Close()
	for _, c := range []struct {
		name, encoding string
		body           []byte
		want           string
	}{
		{"random bytes as gzip", "gzip", random, "invalid gzip body"},
		{"gzip as zstd", "zstd", gz.Bytes(), "read body: " + zstd.ErrMagicMismatch.Error()},
		{"random bytes as deflate", "deflate", random, "invalid deflate body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := postWholeBody(t, r, c.body, c.encoding)
			if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want 400 with %q", code, body, c.want)
			}
		})
	}
}
