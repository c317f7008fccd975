package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/runtime/client"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// goResult is testdata/gofn's answer.
type goResult struct {
	Value       string `json:"value"`
	RequestID   string `json:"requestId"`
	FunctionARN string `json:"functionArn"`
	TraceID     string `json:"traceId"`
	Remaining   int64  `json:"remainingMs"`
	PID         int    `json:"pid"`
	Child       int    `json:"child"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

func goConfig(name string) registry.Config {
	return registry.Config{Name: name, Runtime: registry.Provided, MemoryMB: 128, Timeout: registry.Duration(3 * time.Second)}
}

// The span contract on a cold then a warm invocation of an unmodified
// aws-lambda-go function, checked in the rows ClickHouse stored.
func TestColdThenWarmUnmodifiedGoFunction(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("hello-go"), goFunction(t))

	first := e.invoke("hello-go", map[string]string{"value": "one"})
	second := e.invoke("hello-go", map[string]string{"value": "two"})
	if first.FunctionError != "" || second.FunctionError != "" {
		t.Fatalf("function errors: %s / %s", first.Payload, second.Payload)
	}
	if !first.ColdStart || second.ColdStart {
		t.Fatalf("cold start flags %v, %v; want true, false", first.ColdStart, second.ColdStart)
	}
	r1 := decode[goResult](t, first.Payload)
	r2 := decode[goResult](t, second.Payload)
	if r1.Value != "one" || r1.RequestID != first.RequestID || r1.PID != r2.PID {
		t.Fatalf("answers %+v %+v (request id %s)", r1, r2, first.RequestID)
	}
	if r1.FunctionARN != "arn:aws:lambda:local:000000000000:function:hello-go" || r1.Remaining <= 0 || r1.Remaining > 3000 {
		t.Fatalf("context: arn %q, remaining %d ms", r1.FunctionARN, r1.Remaining)
	}
	if !strings.Contains(first.LogTail, "REPORT RequestId: "+first.RequestID) || !strings.Contains(first.LogTail, "Init Duration:") {
		t.Fatalf("log tail:\n%s", first.LogTail)
	}

	inv := e.invocations("hello-go", 2)
	cold, warm := inv[0], inv[1]
	for i, s := range inv {
		if s.Name != "hello-go" || s.Kind != "Server" || s.Service != "hello-go" || s.Version != "1" || s.Trigger != telemetry.TriggerOther {
			t.Fatalf("span %d: %+v", i, s)
		}
		if s.MemoryLimit != 128<<20 || s.TimeoutMs != 3000 || s.BilledMs < 1 || s.MaxMemory == 0 || s.ErrorType != "" || s.Status != "Unset" {
			t.Fatalf("span %d columns: %+v", i, s)
		}
		if s.Attrs["faas.invocation_id"] == "" || s.Instance == "" {
			t.Fatalf("span %d lacks invocation id or instance: %+v", i, s)
		}
	}
	if !cold.ColdStart || cold.InitMs <= 0 || warm.ColdStart || warm.InitMs != 0 || cold.Instance != warm.Instance {
		t.Fatalf("cold %+v\nwarm %+v", cold, warm)
	}
	if float64(cold.BilledMs) < cold.InitMs {
		t.Fatalf("billed %d ms does not include init %.2f ms", cold.BilledMs, cold.InitMs)
	}
	for key, typ := range map[string]string{"faas.coldstart": "bool", telemetry.AttrInitDurationMs: "double",
		telemetry.AttrBilledDurationMs: "int", telemetry.AttrMaxMemoryUsed: "int", telemetry.AttrTimeoutMs: "int"} {
		if cold.AttrTypes[key] != typ {
			t.Errorf("attribute %s has type %q, want %q", key, cold.AttrTypes[key], typ)
		}
	}
	init := e.children(cold.TraceID, cold.SpanID, 1)
	if len(init) != 1 || init[0].Name != telemetry.InitSpanName || init[0].IsInvocation {
		t.Fatalf("cold start children: %+v", init)
	}
	if kids := e.spans(0, schema.ColTraceID+" = ? AND "+schema.ColParentSpanID+" = ?", warm.TraceID, warm.SpanID); len(kids) != 0 {
		t.Fatalf("warm invocation has children: %+v", kids)
	}
	// The function got the invocation span's ids in X-Ray form.
	if want := "Root=1-" + cold.TraceID[:8] + "-" + cold.TraceID[8:] + ";Parent=" + cold.SpanID + ";Sampled=1"; r1.TraceID != want {
		t.Fatalf("Lambda-Runtime-Trace-Id %q, want %q", r1.TraceID, want)
	}
}

func TestTimeoutCrashPanicAndOOM(t *testing.T) {
	e := newEnv(t)
	cfg := goConfig("edge")
	cfg.Timeout = registry.Duration(500 * time.Millisecond)
	e.deploy(cfg, goFunction(t))
	e.deploy(registry.Config{Name: "hog", Runtime: registry.Python311, Handler: "app.handler", MemoryMB: 64},
		writeFunction(t, map[string]string{"app.py": "def handler(event, context):\n    b = [bytearray(1 << 20) for _ in range(300)]\n    return len(b)\n"}))

	warm := decode[goResult](t, e.invoke("edge", map[string]any{"op": "echo"}).Payload)
	res := e.invoke("edge", map[string]any{"op": "sleep", "ms": 5000})
	if res.ErrorType != telemetry.ErrTimeout || res.FunctionError != "Unhandled" ||
		!strings.Contains(string(res.Payload), "Task timed out after 0.50 seconds") || !strings.Contains(res.LogTail, "sleeping 5000 ms") {
		t.Fatalf("timeout: %s %s\n%s", res.ErrorType, res.Payload, res.LogTail)
	}
	after := e.invoke("edge", map[string]any{"op": "echo"})
	if !after.ColdStart || decode[goResult](t, after.Payload).PID == warm.PID {
		t.Fatal("the timed-out instance was not replaced")
	}
	if res := e.invoke("edge", map[string]any{"op": "crash"}); res.ErrorType != telemetry.ErrCrash ||
		!strings.Contains(string(res.Payload), "Runtime.ExitError") || !strings.Contains(res.LogTail, "crashing on purpose") {
		t.Fatalf("crash: %s %s", res.ErrorType, res.Payload)
	}
	// aws-lambda-go reports a panic, then exits: a handler error, and the
	// next invocation starts cold.
	if res := e.invoke("edge", map[string]any{"op": "panic"}); res.ErrorType != telemetry.ErrHandler || !strings.Contains(string(res.Payload), "panicked on purpose") {
		t.Fatalf("panic: %s %s", res.ErrorType, res.Payload)
	}
	if res := e.invoke("edge", map[string]any{"op": "fail"}); res.ErrorType != telemetry.ErrHandler || !res.ColdStart {
		t.Fatalf("handler error after a panic: %s cold=%v %s", res.ErrorType, res.ColdStart, res.Payload)
	}
	if res := e.invoke("hog", nil); res.ErrorType != telemetry.ErrOutOfMemory || !strings.Contains(string(res.Payload), "Runtime.OutOfMemory") {
		t.Fatalf("oom (%s): %s %s", e.srv.Limits().Mechanism(), res.ErrorType, res.Payload)
	}

	spans := e.invocations("edge", 6)
	var types []string
	for _, s := range spans {
		types = append(types, s.ErrorType)
		if s.ErrorType != "" && s.Status != "Error" {
			t.Errorf("span with error.type %s has status %s", s.ErrorType, s.Status)
		}
	}
	if got := strings.Join(types, ","); got != ",timeout,,crash,handler_error,handler_error" {
		t.Fatalf("error types %s", got)
	}
	if !spans[2].ColdStart || spans[2].Instance == spans[1].Instance || spans[3].ColdStart || !spans[5].ColdStart {
		t.Fatalf("instances after a timeout, a crash and a panic: %+v", spans)
	}
	// The timeout span lasts the timeout and keeps the function's output.
	if d := time.Duration(spans[1].Duration); d < 500*time.Millisecond || d > 2*time.Second {
		t.Fatalf("timeout span lasted %s", d)
	}
	if !contains(spans[1].Events, "log") {
		t.Fatalf("timeout span events %v, want the function's log line", spans[1].Events)
	}
	hog := e.invocations("hog", 1)[0]
	if hog.ErrorType != telemetry.ErrOutOfMemory || hog.MaxMemory < 32<<20 || hog.MemoryLimit != 64<<20 {
		t.Fatalf("oom span: %+v", hog)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A process the function started dies with its instance.
func TestChildProcessesDieWithTheInstance(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("spawner"), goFunction(t))
	child := decode[goResult](t, e.invoke("spawner", map[string]any{"op": "spawn"}).Payload).Child
	if child == 0 || syscall.Kill(child, 0) != nil {
		t.Fatalf("child %d not running", child)
	}
	if res := e.invoke("spawner", map[string]any{"op": "crash"}); res.ErrorType != telemetry.ErrCrash {
		t.Fatalf("crash: %s", res.ErrorType)
	}
	waitFor(t, "the function's child to be killed", func() bool { return !processExists(child) })
}

func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invokeAll runs n invocations at once and returns their results and
// errors (throttles are errors of the Invoke API).
func (e *env) invokeAll(name string, n int, payload any) ([]*client.InvokeResult, []error) {
	b, _ := json.Marshal(payload)
	results := make([]*client.InvokeResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.c.Invoke(context.Background(), name, b, false)
		}()
	}
	wg.Wait()
	return results, errs
}

func TestConcurrencyCapQueueAndThrottling(t *testing.T) {
	e := newEnv(t)
	capped := goConfig("capped")
	capped.MaxInstances = 1
	capped.QueueWait = registry.Duration(10 * time.Second)
	e.deploy(capped, goFunction(t))
	// Three at once through one instance: they queue and take turns.
	results, errs := e.invokeAll("capped", 3, map[string]any{"op": "sleep", "ms": 200})
	pids := map[int]bool{}
	colds := 0
	for i, r := range results {
		if errs[i] != nil || r.FunctionError != "" {
			t.Fatalf("queued invocation %d: %v %+v", i, errs[i], r)
		}
		pids[decode[goResult](t, r.Payload).PID] = true
		if r.ColdStart {
			colds++
		}
	}
	if len(pids) != 1 || colds != 1 {
		t.Fatalf("%d instances and %d cold starts for a function capped at 1", len(pids), colds)
	}

	throttled := goConfig("throttled")
	throttled.MaxInstances = 2
	throttled.QueueWait = registry.Duration(200 * time.Millisecond)
	e.deploy(throttled, goFunction(t))
	results, errs = e.invokeAll("throttled", 6, map[string]any{"op": "sleep", "ms": 1500})
	ok, limited := 0, 0
	for i, err := range errs {
		var apiErr *client.APIError
		switch {
		case err == nil && results[i].FunctionError == "":
			ok++
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("invocation %d: %v", i, err)
		}
	}
	if ok != 2 || limited != 4 {
		t.Fatalf("%d succeeded and %d were throttled; want 2 and 4", ok, limited)
	}
	spans := e.invocations("throttled", 6)
	instances := map[string]bool{}
	nThrottled := 0
	for _, s := range spans {
		if s.ErrorType == telemetry.ErrThrottled {
			nThrottled++
			if s.Status != "Error" || s.Instance != "" {
				t.Fatalf("throttled span: %+v", s)
			}
			continue
		}
		instances[s.Instance] = true
	}
	if nThrottled != 4 || len(instances) != 2 {
		t.Fatalf("%d throttled spans, %d instances", nThrottled, len(instances))
	}
}

func TestScaleToZeroAndPrewarm(t *testing.T) {
	e := newEnv(t)
	cfg := goConfig("idle")
	cfg.IdleTimeout = registry.Duration(time.Second)
	e.deploy(cfg, goFunction(t))
	first := e.invoke("idle", nil)
	if !first.ColdStart {
		t.Fatal("first invocation not cold")
	}
	waitFor(t, "scale to zero", func() bool {
		st, err := e.srv.Host().Stats("idle")
		return err == nil && st.Live == 0
	})
	again := e.invoke("idle", nil)
	if !again.ColdStart || decode[goResult](t, again.Payload).PID == decode[goResult](t, first.Payload).PID {
		t.Fatal("after scaling to zero the invocation was not a cold start on a new instance")
	}

	warm := goConfig("prewarmed")
	warm.MinInstances = 1
	warm.IdleTimeout = registry.Duration(time.Second)
	e.deploy(warm, goFunction(t))
	waitFor(t, "a pre-warmed instance", func() bool {
		st, err := e.srv.Host().Stats("prewarmed")
		return err == nil && st.Idle == 1
	})
	// Idle longer than the idle timeout: the minimum stays.
	time.Sleep(1500 * time.Millisecond)
	if res := e.invoke("prewarmed", nil); res.ColdStart {
		t.Fatal("the pre-warmed instance's first invocation was reported cold")
	}
	inits := e.spans(1, schema.ColFunctionName+" = ? AND "+schema.ColSpanName+" = 'init'", "prewarmed")
	if inits[0].ParentSpanID != "" || inits[0].Attrs[telemetry.AttrPrewarmed] != "true" || inits[0].InitMs <= 0 {
		t.Fatalf("pre-warm init span: %+v", inits[0])
	}
	if st, _ := e.srv.Host().Stats("prewarmed"); st.Live != 1 {
		t.Fatalf("live instances %d, want the 1 minimum", st.Live)
	}
}

// The default data dir is relative (./data) while instances run in their
// code directory: every runtime must still find its bootstrap.
func TestRelativeDataDir(t *testing.T) {
	goDir := goFunction(t) // built from this package's directory
	t.Chdir(t.TempDir())
	e := newEnv(t, func(c *server.Config) { c.DataDir = "data" })
	e.deploy(registry.Config{Name: "rel-node", Runtime: registry.NodeJS20, Handler: "index.handler"},
		writeFunction(t, map[string]string{"index.js": "exports.handler = async () => 'node';\n"}))
	e.deploy(registry.Config{Name: "rel-python", Runtime: registry.Python311, Handler: "app.handler"},
		writeFunction(t, map[string]string{"app.py": "def handler(event, context):\n    return 'python'\n"}))
	e.deploy(goConfig("rel-go"), goDir)
	for name, want := range map[string]string{"rel-node": `"node"`, "rel-python": `"python"`, "rel-go": `"x"`} {
		res := e.invoke(name, map[string]string{"value": "x"})
		if res.FunctionError != "" {
			t.Fatalf("%s: %s\n%s", name, res.Payload, res.LogTail)
		}
		got := string(res.Payload)
		if name == "rel-go" { // testdata/gofn answers with its event's value, among others
			got = `"` + decode[goResult](t, res.Payload).Value + `"`
		}
		if got != want {
			t.Fatalf("%s answered %s", name, res.Payload)
		}
	}
}

func TestDeployValidation(t *testing.T) {
	e := newEnv(t)
	node := writeFunction(t, map[string]string{"index.js": "exports.handler = async () => 1;\n"})
	cases := []struct {
		name string
		cfg  registry.Config
		want string
	}{
		{"unknown runtime", registry.Config{Name: "a", Runtime: "cobol9", Handler: "x.y"}, `unknown runtime "cobol9"`},
		{"missing handler file", registry.Config{Name: "b", Runtime: registry.NodeJS20, Handler: "main.handler"}, "the code has no main.js"},
		{"handler without export", registry.Config{Name: "c", Runtime: registry.NodeJS20, Handler: "index"}, "expected MODULE.FUNCTION"},
		{"no bootstrap", registry.Config{Name: "d", Runtime: registry.Provided}, "no executable named bootstrap"},
		{"bad schedule", registry.Config{Name: "e", Runtime: registry.NodeJS20, Handler: "index.handler", Schedule: "rate(0 minutes)"}, "positive whole number"},
		{"reserved env", registry.Config{Name: "f", Runtime: registry.NodeJS20, Handler: "index.handler", Env: map[string]string{"_HANDLER": "x"}}, "set by the runtime"},
		{"too little memory", registry.Config{Name: "g", Runtime: registry.NodeJS20, Handler: "index.handler", MemoryMB: 8}, "memory 8 MB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.c.Deploy(context.Background(), c.cfg, node, nil)
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a 400 saying %q", err, c.want)
			}
		})
	}
	// A zero timeout given explicitly is an error, not the default.
	if _, err := registry.DecodeConfig([]byte(`{"name":"z","runtime":"nodejs20","handler":"index.handler","timeout":"0s"}`)); err == nil ||
		!strings.Contains(err.Error(), "timeout is zero") {
		t.Fatalf("zero timeout: %v", err)
	}
	if fns, _ := e.c.List(context.Background()); len(fns) != 0 {
		t.Fatalf("bad deploys left functions: %+v", fns)
	}
}

// A new version replaces idle instances; invocations then run it.
func TestRedeployBumpsTheVersion(t *testing.T) {
	e := newEnv(t)
	v1 := writeFunction(t, map[string]string{"index.js": "exports.handler = async () => 'v1';\n"})
	v2 := writeFunction(t, map[string]string{"index.js": "exports.handler = async () => 'v2';\n"})
	cfg := registry.Config{Name: "versions", Runtime: registry.NodeJS20, Handler: "index.handler"}
	e.deploy(cfg, v1)
	if got := string(e.invoke("versions", nil).Payload); got != `"v1"` {
		t.Fatalf("v1 answered %s", got)
	}
	if info := e.deploy(cfg, v2); info.Version != 2 {
		t.Fatalf("version %d after a second deploy", info.Version)
	}
	res := e.invoke("versions", nil)
	if string(res.Payload) != `"v2"` || !res.ColdStart {
		t.Fatalf("after redeploy: %s cold=%v", res.Payload, res.ColdStart)
	}
	if s := e.invocations("versions", 2); s[1].Version != "2" {
		t.Fatalf("span version %q", s[1].Version)
	}
	// The registry survives a restart.
	e.stop()
	e.start()
	if got := string(e.invoke("versions", nil).Payload); got != `"v2"` {
		t.Fatalf("after restart: %s", got)
	}
	if err := e.c.Delete(context.Background(), "versions"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Invoke(context.Background(), "versions", []byte("{}"), false); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("invoking a removed function: %v", err)
	}
}

// An invocation of an old version keeps its code while later deploys
// come: its instance runs in that version's code directory.
func TestInvocationOutlivesTwoRedeploys(t *testing.T) {
	e := newEnv(t)
	cfg := registry.Config{Name: "slow-require", Runtime: registry.NodeJS20, Handler: "index.handler", Timeout: registry.Duration(10 * time.Second)}
	e.deploy(cfg, writeFunction(t, map[string]string{
		"index.js": "exports.handler = async () => { await new Promise(r => setTimeout(r, 1500)); return require('./later.js'); };\n",
		"later.js": "module.exports = 'v1 finished';\n",
	}))
	done := make(chan *client.InvokeResult, 1)
	go func() { done <- e.invoke("slow-require", nil) }()
	time.Sleep(300 * time.Millisecond) // the v1 invocation is under way
	for _, v := range []string{"v2", "v3"} {
		e.deploy(cfg, writeFunction(t, map[string]string{"index.js": "exports.handler = async () => '" + v + "';\n"}))
	}
	if res := <-done; string(res.Payload) != `"v1 finished"` {
		t.Fatalf("the v1 invocation: %s %s", res.ErrorType, res.Payload)
	}
	if got := string(e.invoke("slow-require", nil).Payload); got != `"v3"` {
		t.Fatalf("after the deploys: %s", got)
	}
}

func TestHTTPTrigger(t *testing.T) {
	e := newEnv(t)
	e.deploy(registry.Config{Name: "web", Runtime: registry.NodeJS20, Handler: "index.handler"}, writeFunction(t, map[string]string{"index.js": `
exports.handler = async (event) => {
  if (event.rawPath === '/plain') return { hello: 'json' };
  if (event.rawPath === '/malformed') return { statusCode: 700 };
  return {
    statusCode: 201,
    headers: { 'x-echo-method': event.requestContext.http.method, 'content-type': 'text/plain' },
    cookies: ['a=1'],
    body: [event.version, event.rawPath, event.rawQueryString, event.queryStringParameters.q,
           event.headers['x-custom'], event.cookies.join('|'), event.isBase64Encoded ? 'b64' : 'text',
           Buffer.from(event.body || '', event.isBase64Encoded ? 'base64' : 'utf8').toString('hex')].join(' '),
  };
};
`}))
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL()+"/fn/web/items/7?q=x&r=1", strings.NewReader("\xff\x00"))
	req.Header.Set("X-Custom", "v")
	req.Header.Set("Cookie", "c1=a; c2=b")
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 201 || resp.Header.Get("X-Echo-Method") != "POST" || resp.Header.Get("Set-Cookie") != "a=1" {
		t.Fatalf("status %d headers %v body %s", resp.StatusCode, resp.Header, body)
	}
	if want := "2.0 /items/7 q=x&r=1 x v c1=a|c2=b b64 ff00"; body != want {
		t.Fatalf("body %q, want %q", body, want)
	}
	resp, err = http.Get(e.srv.URL() + "/fn/web/plain")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || body != `{"hello":"json"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("plain: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(e.srv.URL() + "/fn/web/malformed")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Coldtrace-Error-Type") != telemetry.ErrHandler ||
		!strings.Contains(body, "statusCode 700") {
		t.Fatalf("malformed: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = http.Get(e.srv.URL() + "/fn/nobody/")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown function: %d", resp.StatusCode)
	}
	resp.Body.Close()
	spans := e.invocations("web", 3)
	s := spans[0]
	if s.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || s.ParentSpanID != "00f067aa0ba902b7" || s.Trigger != "http" ||
		s.Attrs["http.response.status_code"] != "201" || s.Attrs["http.request.method"] != "POST" {
		t.Fatalf("http span: %+v", s)
	}
	// The span says what the client got: a 502 for the function's error.
	if s := spans[2]; s.Attrs["url.path"] != "/fn/web/malformed" || s.Attrs["http.response.status_code"] != "502" ||
		s.ErrorType != telemetry.ErrHandler || s.Status != "Error" {
		t.Fatalf("span of the malformed answer: %+v", s)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
