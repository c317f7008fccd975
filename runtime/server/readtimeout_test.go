package server_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
)

// A gateway request whose body stalls is answered and its connection
// closed at the read timeout while other requests are served; a deploy's
// code archive may take longer than that to arrive.
func TestGatewayBoundsHowLongABodyMayTake(t *testing.T) {
	const readTimeout = time.Second
	e := newEnv(t, func(c *server.Config) { c.ReadTimeout = readTimeout })
	addr := strings.TrimPrefix(e.srv.URL(), "http://")

	contentType, archive := deployForm(t, registry.Config{Name: "slow", Runtime: registry.NodeJS20, Handler: "index.handler"},
		"index.js", `exports.handler = async (event) => event;`)
	deploy := dialGateway(t, addr)
	fmt.Fprintf(deploy, "PUT %s/slow HTTP/1.1\r\nHost: gw\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		gateway.FunctionsPath, contentType, len(archive), archive[:len(archive)/2])
	time.Sleep(2 * readTimeout) // an upload slower than the payloads' bound
	deploy.Write(archive[len(archive)/2:])
	if resp, body := readAnswer(t, deploy); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy uploaded over %v: %d %s", 2*readTimeout, resp.StatusCode, body)
	}

	invoke := dialGateway(t, addr)
	fmt.Fprintf(invoke, "POST %sslow/invocations HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n{\"x\":", gateway.InvokePath)
	if res := e.invoke("slow", map[string]int{"x": 7}); string(res.Payload) != `{"x":7}` {
		t.Errorf("invocation beside the stalled one: %s", res.Payload)
	}
	resp, body := readAnswer(t, invoke)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "timeout") {
		t.Errorf("stalled invocation: %d %s, want 400 saying the payload timed out", resp.StatusCode, body)
	}
	if rest, err := io.ReadAll(invoke); err != nil || len(rest) > 0 {
		t.Errorf("connection after the answer: %q, %v; want it closed", rest, err)
	}
}

// deployForm is the multipart form of a deploy of one file.
func deployForm(t *testing.T, cfg registry.Config, file, code string) (contentType string, form []byte) {
	t.Helper()
	var archive bytes.Buffer
	zw := zip.NewWriter(&archive)
	f, err := zw.Create(file)
	if err == nil {
		_, err = f.Write([]byte(code))
	}
	if err == nil {
		err = zw.Close()
	}
	cfgJSON, _ := json.Marshal(cfg)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err == nil {
		err = mw.WriteField(gateway.DeployConfigField, string(cfgJSON))
	}
	var part io.Writer
	if err == nil {
		part, err = mw.CreateFormFile(gateway.DeployCodeField, "code.zip")
	}
	if err == nil {
		_, err = part.Write(archive.Bytes())
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func dialGateway(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute)) // only so that a hang fails the test
	return conn
}

// readAnswer reads one response from conn, whose reads are then left at
// the response's end.
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the gateway's answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
