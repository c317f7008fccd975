package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chdb"
	"github.com/coldtrace/coldtrace/internal/testmain"
)

var coldtraceBin string

var httpClient = &http.Client{Timeout: 10 * time.Second}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coldtrace-bin-")
	if err != nil {
		panic(err)
	}
	coldtraceBin = filepath.Join(dir, "coldtrace")
	if out, err := exec.Command("go", "build", "-o", coldtraceBin, ".").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("build: %v\n%s", err, out))
	}
	testmain.Run(m, func() { os.RemoveAll(dir) })
}

var (
	addrMu    sync.Mutex
	addrsUsed = map[string]bool{}
)

// freeAddr returns a loopback address nothing listens on. A port is never
// handed out twice: a process started with it may not have bound it yet
// when the next one is asked for.
func freeAddr(t *testing.T) string {
	t.Helper()
	addrMu.Lock()
	defer addrMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !addrsUsed[addr] {
			addrsUsed[addr] = true
			return addr
		}
	}
}

// output is a process's combined stdout and stderr. exec's copying
// goroutines write it while the test reads it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

// String is what the process has written so far.
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// process is a running coldtrace with its combined output.
type process struct {
	cmd      *exec.Cmd
	out      *output
	exited   chan struct{} // closed once Wait has returned
	waitErr  error         // Wait's, once exited is closed
	stopOnce sync.Once
}

// wait returns once the process has exited, with how it ended.
func (p *process) wait() error {
	<-p.exited
	return p.waitErr
}

// hasExited reports whether the process has ended.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(coldtraceBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	// A function instance the process started may outlive it holding the
	// output pipe; Wait then gives up on the pipe instead of hanging.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("output of %v:\n%s", args, out.String())
		}
	})
	return p
}

// stop interrupts the process (kills it if it has not exited within 30
// s) and returns once it has exited and everything it wrote is in out:
// Wait waits for exec's copying goroutines.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// finalOutput stops the process and returns all it wrote. A check that
// a line is absent reads this: output still on its way to out would
// pass the check unseen.
func (p *process) finalOutput() string {
	p.stop()
	return p.out.String()
}

// waitHTTP waits until url answers, or the process exits.
func waitHTTP(t *testing.T, p *process, u string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("process exited (%v):\n%s", p.cmd.ProcessState, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not come up:\n%s", u, p.out.String())
}

// getWith GETs u through httpClient with headers given as name, value
// pairs.
func getWith(t *testing.T, u string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// noLibraryEnv hides libchdb from a child process.
func noLibraryEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "XDG_CACHE_HOME=" + home, "CHDB_LIB_PATH="}
}

func TestEmbeddedWithoutLibraryFailsClearly(t *testing.T) {
	cmd := exec.Command(coldtraceBin, "up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t))
	cmd.Env = append(os.Environ(), noLibraryEnv(t)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("up without libchdb succeeded:\n%s", out)
	}
	for _, want := range []string{"libchdb.so not found", "install-chdb.sh", "CHDB_LIB_PATH", "--clickhouse"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error does not mention %q:\n%s", want, out)
		}
	}
}

// A spool smaller than the largest request would tell that request's
// sender to retry forever under steady traffic: up refuses to start.
func TestSpoolSmallerThanARequestIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, coldtraceBin, "up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t),
		"--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t), "--spool-max-bytes", "1048576").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--spool-max-bytes (1048576) must be at least --max-request-bytes") {
		t.Errorf("up with a 1 MiB spool: %v\n%s", err, out)
	}
}

// TestCollectorAgainstServerDSNWithoutLibrary runs the collector role on a
// machine view without libchdb, against a ClickHouse HTTP endpoint: the
// embedded engine of a second coldtrace exposed with --clickhouse-http-addr.
func TestCollectorAgainstServerDSNWithoutLibrary(t *testing.T) {
	if _, err := chdb.FindLibrary(); err != nil {
		t.Fatalf("the server side of this test needs libchdb: %v", err)
	}
	chAddr := freeAddr(t)
	server := start(t, nil, "up", "--data-dir", t.TempDir(), "--clickhouse-http-addr", chAddr,
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t))
	waitHTTP(t, server, "http://"+chAddr+"/ping")

	otlpHTTP, adminAddr := freeAddr(t), freeAddr(t)
	coll := start(t, noLibraryEnv(t), "collector", "--clickhouse", "http://"+chAddr, "--clickhouse-database", "remote",
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", otlpHTTP, "--admin-addr", adminAddr, "--data-dir", t.TempDir())
	waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
	// A collector with a spool is ready on its spool (it absorbs outages).
	if code, body := getWith(t, "http://"+adminAddr+"/readyz"); code != 200 || !strings.Contains(body, `"spool":"ok"`) {
		t.Fatalf("readyz: %d %s", code, body)
	}

	now := time.Now().UnixNano()
	body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"remote-svc"}}]},
		"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"op",
		"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, now, now+1000)
	resp, err := http.Post("http://"+otlpHTTP+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	// Acknowledged once in the collector's spool; stored moments later
	// (the table itself may not exist yet: the collector is ready before
	// its schema is migrated).
	q := url.QueryEscape("SELECT ServiceName, SpanName FROM remote.otel_traces")
	var code int
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, got = getWith(t, "http://"+chAddr+"/?query="+q); code == 200 && got != "" {
			break
		}
	}
	if got != "remote-svc\top\n" {
		t.Fatalf("stored rows: %q", got)
	}
	// The rows are visible a moment before the counter moves.
	var m string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, m = getWith(t, "http://"+adminAddr+"/metrics"); strings.Contains(m, "coldtrace_ingest_spans_stored_total 1\n") {
			break
		}
	}
	if !strings.Contains(m, "coldtrace_ingest_spans_stored_total 1\n") {
		t.Errorf("metrics do not count the stored span:\n%s", m)
	}
	if strings.Contains(coll.finalOutput(), "embedded ClickHouse started") {
		t.Fatal("the collector role started an embedded engine")
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	for _, sub := range []string{"up", "collector"} {
		out, err := exec.Command(coldtraceBin, sub, "--help").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			l := strings.TrimSpace(line)
			if !strings.HasPrefix(l, "--") {
				continue
			}
			// "--name type   explanation": every flag has an explanation.
			if f := strings.Fields(l); len(f) < 3 {
				t.Errorf("%s: flag without help: %q", sub, l)
			}
		}
	}
}

// configPrint runs 'coldtrace config print' with args, a config file
// holding yaml and the environment variables env added to the test's.
func configPrint(t *testing.T, yaml string, env []string, args ...string) (string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(coldtraceBin, append([]string{"config", "print"}, append(args, "--config", cfg)...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestConfigPrecedence(t *testing.T) {
	out, err := configPrint(t, "batch-spans: 111\nretention: 48h\nqueue-spans: 5000\n", []string{"COLDTRACE_RETENTION=72h"}, "up", "--queue-spans", "7000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{`batch-spans: 111`, `retention: "72h0m0s"`, `queue-spans: 7000`, `clickhouse: "embedded"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Secrets are not printed: printed configurations end up in tickets.
	out, err = configPrint(t, "", nil, "collector", "--clickhouse", "clickhouse://u:SuperSecretPW@h:9000?password=pw2",
		"--auth-token", "tok-0123456789abcdef")
	if err != nil || strings.Contains(out, "SuperSecretPW") || strings.Contains(out, "pw2") ||
		strings.Contains(out, "tok-0123456789abcdef") || !strings.Contains(out, "clickhouse://u:REDACTED@h:9000") {
		t.Errorf("secrets in config print: %v\n%s", err, out)
	}
	out, err = configPrint(t, "no-such-flag: 1\n", nil, "up")
	if err == nil || !strings.Contains(out, `unknown key "no-such-flag"`) {
		t.Errorf("unknown key accepted: %v\n%s", err, out)
	}
	// A key without a value is empty (an address turned off), not "<nil>";
	// a number without one is an error that says so.
	out, err = configPrint(t, "otlp-grpc-addr:\nauth-token:\n", nil, "up")
	if err != nil || !strings.Contains(out, `otlp-grpc-addr: ""`) || strings.Contains(out, "<nil>") {
		t.Errorf("keys without values: %v\n%s", err, out)
	}
	out, err = configPrint(t, "batch-spans:\n", nil, "up")
	if err == nil || !strings.Contains(out, "(--batch-spans): has no value") {
		t.Errorf("a number without a value: %v\n%s", err, out)
	}
	// COLDTRACE_CONFIG applies to every command: each takes its own keys
	// and leaves the others' alone.
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("http-addr: 127.0.0.1:7171\nauth-token: a-token-of-16-chars-or-more\n"), 0o644)
	for _, args := range [][]string{{"version"}, {"fn", "--help"}, {"config", "print", "query"}} {
		cmd := exec.Command(coldtraceBin, args...)
		cmd.Env = append(os.Environ(), "COLDTRACE_CONFIG="+cfg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%v with COLDTRACE_CONFIG: %v\n%s", args, err, out)
		} else if args[0] == "config" && !strings.Contains(string(out), `http-addr: "127.0.0.1:7171"`) {
			t.Errorf("config print query with COLDTRACE_CONFIG:\n%s", out)
		}
	}
}

// Two collectors on one ClickHouse, each with its own spool, numbering
// their records alike: every request either acknowledges is stored (their
// deduplication tokens must not collide).
func TestTwoCollectorsOnOneClickHouse(t *testing.T) {
	chAddr := freeAddr(t)
	server := start(t, nil, "up", "--data-dir", t.TempDir(), "--clickhouse-http-addr", chAddr,
		"--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t), "--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t))
	waitHTTP(t, server, "http://"+chAddr+"/ping")
	var receivers []string
	for range 2 {
		otlpHTTP, adminAddr := freeAddr(t), freeAddr(t)
		coll := start(t, nil, "collector", "--clickhouse", "http://"+chAddr, "--clickhouse-database", "shared",
			"--otlp-grpc-addr", "", "--otlp-http-addr", otlpHTTP, "--admin-addr", adminAddr, "--data-dir", t.TempDir())
		waitHTTP(t, coll, "http://"+adminAddr+"/readyz")
		receivers = append(receivers, otlpHTTP)
	}
	count := "SELECT count() FROM shared.otel_traces"
	stored := 0
	for round := range 3 {
		for i, recv := range receivers {
			// Requests of the same size land at the same spool positions.
			now := time.Now().UnixNano()
			body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
				"scopeSpans":[{"spans":[{"traceId":"%032x","spanId":"b7ad6b7169203331","name":"op","startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`,
				round*2+i+1, now, now+1000)
			resp, err := http.Post("http://"+recv+"/v1/traces", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("collector %d: %d", i, resp.StatusCode)
			}
			stored++
			var got string
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if _, got = getWith(t, "http://"+chAddr+"/?query="+url.QueryEscape(count)); got == fmt.Sprintf("%d\n", stored) {
					break
				}
			}
			if got != fmt.Sprintf("%d\n", stored) {
				t.Fatalf("round %d, collector %d: %q spans stored, want %d acknowledged", round, i, got, stored)
			}
		}
	}
}
