package main_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fn runs 'coldtrace fn ARGS --gateway http://GATEWAY' and returns
// stdout, stderr and the exit status.
func fn(t *testing.T, gateway string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return fnAt(t, "http://"+gateway, args...)
}

func fnAt(t *testing.T, gatewayURL string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return fnEnv(t, nil, gatewayURL, args...)
}

// fnEnv is fnAt with environment variables added to the test's.
func fnEnv(t *testing.T, env []string, gatewayURL string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(coldtraceBin, append(append([]string{"fn"}, args...), "--gateway", gatewayURL)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// chQuery runs SQL on the embedded engine's HTTP interface.
func chQuery(t *testing.T, addr, sql string) string {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/?query="+url.QueryEscape(sql), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s %v", sql, resp.StatusCode, b, err)
	}
	return string(b)
}

// The newcomer's path: 'coldtrace up --examples', then the examples
// invoked with 'coldtrace fn', and their cold starts, timeouts and OOMs
// stored in ClickHouse.
func TestUpWithExamplesAndFnCommands(t *testing.T) {
	wd, _ := os.Getwd()
	examples := filepath.Join(wd, "..", "..", "examples")
	gw, ch, api := freeAddr(t), freeAddr(t), freeAddr(t)
	args := []string{"up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t),
		"--http-addr", api, "--gateway-addr", gw, "--clickhouse-http-addr", ch, "--examples", "--examples-dir", examples}
	p := start(t, nil, args...)
	waitHTTP(t, p, "http://"+gw+"/healthz")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, _, _ := fn(t, gw, "list")
		if strings.Count(out, "\n") == 6 { // header and the five examples
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the examples were not deployed:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, f := range []string{"node-hello", "python-hello", "go-hello"} {
		out, errOut, code := fn(t, gw, "invoke", f, "--payload", `{"name":"ada"}`)
		if code != 0 || !strings.Contains(out, "ada") || !strings.Contains(errOut, "Init Duration") {
			t.Fatalf("%s: exit %d\nstdout %s\nstderr %s", f, code, out, errOut)
		}
	}
	if out, errOut, code := fn(t, gw, "invoke", "slow", "--payload", `{"ms":2500}`); code != 1 ||
		!strings.Contains(out, "Task timed out after 1.00 seconds") || !strings.Contains(errOut, "the function failed: timeout") {
		t.Fatalf("slow: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := fn(t, gw, "invoke", "memory-hog"); code != 1 || !strings.Contains(errOut, "out_of_memory") {
		t.Fatalf("memory-hog: exit %d\n%s\n%s", code, out, errOut)
	}
	checkMetricsDocumented(t, "http://"+api+"/metrics")
	if _, errOut, code := fn(t, gw, "invoke", "python-hello", "--payload", "{not json"); code == 0 || !strings.Contains(errOut, "not valid JSON") {
		t.Fatalf("bad payload: exit %d %s", code, errOut)
	}
	if _, errOut, code := fn(t, gw, "deploy", examples+"/slow", "--name", "zero", "--timeout", "0s"); code == 0 || !strings.Contains(errOut, "--timeout 0") {
		t.Fatalf("zero timeout: exit %d %s", code, errOut)
	}
	if _, errOut, code := fn(t, gw, "deploy", examples+"/slow", "--name", "nohandler", "--handler", "missing.handler"); code == 0 ||
		!strings.Contains(errOut, "the code has no missing.js") {
		t.Fatalf("missing handler file: exit %d %s", code, errOut)
	}
	if out, _, code := fn(t, gw, "dlq", "slow"); code != 0 || !strings.HasPrefix(out, "REQUEST ID") {
		t.Fatalf("dlq: exit %d %s", code, out)
	}
	if out, _, code := fn(t, gw, "rm", "go-hello"); code != 0 || !strings.Contains(out, "removed go-hello") {
		t.Fatalf("rm: %d %s", code, out)
	}
	if out, _, _ := fn(t, gw, "list"); strings.Contains(out, "go-hello") {
		t.Fatalf("go-hello still listed:\n%s", out)
	}

	want := "go-hello\ttrue\t\nmemory-hog\ttrue\tout_of_memory\nnode-hello\ttrue\t\npython-hello\ttrue\t\nslow\ttrue\ttimeout\n"
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && got != want; time.Sleep(200 * time.Millisecond) {
		got = chQuery(t, ch, "SELECT FunctionName, ColdStart, ErrorType FROM coldtrace.otel_traces WHERE IsInvocation ORDER BY FunctionName FORMAT TSV")
	}
	if got != want {
		t.Fatalf("stored invocations:\n%s\nwant:\n%s", got, want)
	}

	// A restart on the same data directory keeps the examples deployed:
	// deploying them again made a new version at every start, which split
	// their figures across versions.
	stopProcess(t, p)
	p = start(t, nil, args...)
	waitOutput(t, p, "examples ready")
	out, _, _ := fn(t, gw, "list")
	for _, name := range []string{"memory-hog", "node-hello", "python-hello", "slow"} {
		if !regexp.MustCompile(`(?m)^` + name + ` +1 `).MatchString(out) {
			t.Errorf("%s is not at version 1 after a restart:\n%s", name, out)
		}
	}
}

// With --auth-token and TLS, the gateway wants the invoke scope for
// triggers and the admin scope to manage functions, over https; the
// runtime's own span export presents the token too.
func TestGatewayAuthAndTLS(t *testing.T) {
	const token = "runtime-s3cret-token"
	certFile, keyFile, pool := selfSigned(t)
	gw, ch := freeAddr(t), freeAddr(t)
	p := start(t, nil, "up", "--data-dir", t.TempDir(), "--auth-token", token, "--tls-cert", certFile, "--tls-key", keyFile,
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t),
		"--gateway-addr", gw, "--clickhouse-http-addr", ch)
	https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + gw
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := https.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || p.hasExited() {
			t.Fatalf("the gateway did not come up over TLS:\n%s", p.out.String())
		}
	}
	// The ClickHouse HTTP interface has no auth: up says so, and where the
	// UI is.
	waitOutput(t, p, "level=WARN msg=\"--clickhouse-http-addr serves the embedded engine's ClickHouse HTTP interface without auth")
	waitOutput(t, p, `msg="coldtrace is up" ui=https://127.0.0.1:`)
	wd, _ := os.Getwd()
	example := filepath.Join(wd, "..", "..", "examples", "python-hello")
	if _, errOut, code := fnAt(t, base, "list", "--gateway-ca", certFile); code == 0 || !strings.Contains(errOut, "unauthorized") {
		t.Fatalf("list without a token: exit %d %s", code, errOut)
	}
	if out, errOut, code := fnAt(t, base, "deploy", example, "--token", token, "--gateway-ca", certFile); code != 0 {
		t.Fatalf("deploy: exit %d %s %s", code, out, errOut)
	}
	if out, errOut, code := fnAt(t, base, "invoke", "python-hello", "--token", token, "--gateway-ca", certFile); code != 0 || !strings.Contains(out, "greeting") {
		t.Fatalf("invoke: exit %d %s %s", code, out, errOut)
	}
	trigger := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/fn/python-hello/", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := https.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := trigger(""); got != http.StatusUnauthorized {
		t.Fatalf("trigger without a token: %d", got)
	}
	if got := trigger(token); got != http.StatusOK {
		t.Fatalf("trigger with the token: %d", got)
	}
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got = chQuery(t, ch, "SELECT count() FROM coldtrace.otel_traces WHERE FunctionName = 'python-hello' AND IsInvocation FORMAT TSV")
		if got == "2\n" {
			return
		}
	}
	t.Fatalf("stored invocations: %q, want 2 (is the runtime's export authorized?)\n%s", got, p.out.String())
}

// With --auth-tokens-file there is no token that grants everything, so the
// runtime's own span export needs --runtime-token: without one, or with
// one that lacks the ingest scope, up refuses to start rather than lose
// every span; with one, invocations are stored.
func TestTokensFileNeedsARuntimeToken(t *testing.T) {
	const ingestToken, queryToken, adminToken = "ingest-token-0123456789", "query-token-0123456789", "admin-token-0123456789"
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte(`tokens:
  - {name: runtime, token: `+ingestToken+`, scopes: [ingest]}
  - {name: reader, token: `+queryToken+`, scopes: [query]}
  - {name: ops, token: `+adminToken+`, scopes: [admin]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	up := func(extra ...string) []string {
		return append([]string{"up", "--data-dir", t.TempDir(), "--auth-tokens-file", tokens, "--otlp-grpc-addr", freeAddr(t),
			"--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t)}, extra...)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{up("--gateway-addr", freeAddr(t)), "give --runtime-token"},
		{up("--gateway-addr", freeAddr(t), "--runtime-token", queryToken), "does not have the ingest scope"},
		// Self-tracing into this process's own receiver has the same need.
		{up("--gateway-addr", freeAddr(t), "--runtime-token", ingestToken, "--self-tracing"), "give --self-tracing-token"},
		{up("--gateway-addr", freeAddr(t), "--runtime-token", ingestToken, "--self-tracing", "--self-tracing-token", queryToken), "--self-tracing-token is not one of this collector's tokens with the ingest scope"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a start that does not refuse is killed
		out, err := exec.CommandContext(ctx, coldtraceBin, c.args...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: %v, output does not say %q:\n%s", c.args[len(c.args)-2:], err, c.want, out)
		}
	}
	gw, ch := freeAddr(t), freeAddr(t)
	p := start(t, nil, up("--gateway-addr", gw, "--clickhouse-http-addr", ch, "--runtime-token", ingestToken)...)
	waitHTTP(t, p, "http://"+gw+"/healthz")
	if _, errOut, code := fnAt(t, "http://"+gw, "deploy", filepath.Join(t.TempDir(), "missing"), "--token", adminToken); code == 0 || !strings.Contains(errOut, "missing is not a directory") {
		t.Errorf("deploy of a missing directory: exit %d %s", code, errOut)
	}
	wd, _ := os.Getwd()
	if out, errOut, code := fnAt(t, "http://"+gw, "deploy", filepath.Join(wd, "..", "..", "examples", "python-hello"), "--token", adminToken); code != 0 {
		t.Fatalf("deploy: exit %d %s %s", code, out, errOut)
	}
	if out, errOut, code := fnAt(t, "http://"+gw, "invoke", "python-hello", "--token", adminToken); code != 0 {
		t.Fatalf("invoke: exit %d %s %s", code, out, errOut)
	}
	// A function called over HTTP sees its caller's headers, not the
	// caller's Coldtrace token.
	echo := t.TempDir()
	if err := os.WriteFile(filepath.Join(echo, "app.py"), []byte("def handler(event, context):\n    return {'statusCode': 200, 'body': repr(event['headers'])}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := fnAt(t, "http://"+gw, "deploy", echo, "--name", "echo-headers", "--runtime", "python3.11", "--handler", "app.handler", "--token", adminToken); code != 0 {
		t.Fatalf("deploy: exit %d %s %s", code, out, errOut)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+gw+"/fn/echo-headers/", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Probe", "seen")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "seen") || strings.Contains(string(body), adminToken) {
		t.Errorf("headers a function sees: %d %s", resp.StatusCode, body)
	}
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = chQuery(t, ch, "SELECT count() FROM coldtrace.otel_traces WHERE FunctionName = 'python-hello' AND IsInvocation FORMAT TSV"); got == "1\n" {
			return
		}
	}
	t.Fatalf("stored invocations: %q, want 1\n%s", got, p.out.String())
}
