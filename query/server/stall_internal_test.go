package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A client that stops reading gets its answer cut off once a write has
// made no progress for the timeout, so the handler (and the ClickHouse
// connection a streamed answer holds) is let go.
func TestStalledClientIsCutOff(t *testing.T) {
	const timeout = 500 * time.Millisecond
	chunk := make([]byte, 64<<10)
	writeErr := make(chan error, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		withProgressDeadline(w, r, timeout, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i < 1600; i++ { // 100 MB: more than any socket buffers
				if _, err := w.Write(chunk); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		}))
	}))
	defer ts.Close()

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("100 MB were written to a client that reads nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler is still blocked on a client that stopped reading")
	}
}
