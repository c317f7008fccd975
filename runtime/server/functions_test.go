package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// The Node bootstrap's Lambda contract: async, promise, callback, legacy
// context and plain handlers, ES modules, and the context object.
func TestNodeHandlerStyles(t *testing.T) {
	e := newEnv(t)
	handlers := map[string]string{
		"async":    `exports.handler = async (event, context) => ({ style: 'async', id: context.awsRequestId, left: context.getRemainingTimeInMillis() > 0, arn: context.invokedFunctionArn, mem: context.memoryLimitInMB });`,
		"promise":  `exports.handler = (event) => Promise.resolve({ style: 'promise', got: event.x });`,
		"callback": `exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { style: 'callback' }), 5); };`,
		"cberror":  `exports.handler = (event, context, callback) => callback(new TypeError('bad input'));`,
		"succeed":  `exports.handler = (event, context) => { context.succeed({ style: 'succeed' }); };`,
		"plain":    `exports.handler = () => 42;`,
		"throws":   `exports.handler = async () => { throw new RangeError('out of range'); };`,
	}
	want := map[string]string{
		"promise":  `{"style":"promise","got":7}`,
		"callback": `{"style":"callback"}`,
		"succeed":  `{"style":"succeed"}`,
		"plain":    `42`,
	}
	for name, code := range handlers {
		e.deploy(registry.Config{Name: name, Runtime: registry.NodeJS20, Handler: "index.handler", MemoryMB: 256},
			writeFunction(t, map[string]string{"index.js": code}))
		res := e.invoke(name, map[string]int{"x": 7})
		switch name {
		case "async":
			r := decode[map[string]any](t, res.Payload)
			if r["id"] != res.RequestID || r["left"] != true || r["mem"] != "256" || !strings.HasSuffix(r["arn"].(string), ":function:async") {
				t.Errorf("async: %s", res.Payload)
			}
		case "cberror", "throws":
			errType := map[string]string{"cberror": "TypeError", "throws": "RangeError"}[name]
			if res.ErrorType != telemetry.ErrHandler || !strings.Contains(string(res.Payload), `"errorType":"`+errType+`"`) {
				t.Errorf("%s: %s %s", name, res.ErrorType, res.Payload)
			}
		default:
			if string(res.Payload) != want[name] || res.FunctionError != "" {
				t.Errorf("%s: %s, want %s", name, res.Payload, want[name])
			}
		}
	}
	e.deploy(registry.Config{Name: "esm", Runtime: registry.NodeJS20, Handler: "index.handler"},
		writeFunction(t, map[string]string{"index.mjs": "export const handler = async () => 'esm';\n"}))
	if res := e.invoke("esm", nil); string(res.Payload) != `"esm"` {
		t.Fatalf("esm: %s", res.Payload)
	}
}

// Node writes to its stdout pipe asynchronously: an invocation that wrote
// more than the pipe holds still gets all of its lines, and the next one
// none of them.
func TestNodeLogsStayWithTheirInvocation(t *testing.T) {
	e := newEnv(t)
	e.deploy(registry.Config{Name: "chatty", Runtime: registry.NodeJS20, Handler: "index.handler"}, writeFunction(t, map[string]string{"index.js": `
exports.handler = async (event) => {
  for (let i = 0; i < 300; i++) console.log(event.tag + ' ' + i + ' ' + 'x'.repeat(1000));
  console.log('final ' + event.tag);
  return event.tag;
};
`}))
	a := e.invoke("chatty", map[string]string{"tag": "A"})
	b := e.invoke("chatty", map[string]string{"tag": "B"})
	if !strings.Contains(a.LogTail, "INFO\tfinal A") || !strings.Contains(b.LogTail, "INFO\tfinal B") {
		t.Fatalf("a tail does not end its invocation's output:\nA: ...%s\nB: ...%s", tail(a.LogTail), tail(b.LogTail))
	}
	if strings.Contains(b.LogTail, "INFO\tA ") || strings.Contains(b.LogTail, "final A") {
		t.Fatalf("B's tail holds A's lines: ...%s", tail(b.LogTail))
	}
}

func tail(s string) string { return s[max(0, len(s)-300):] }

// A function that fails to start gets init_error, with the init span
// marked failed and the function's output kept.
func TestInitErrorIsReported(t *testing.T) {
	e := newEnv(t)
	e.deploy(registry.Config{Name: "broken", Runtime: registry.Python311, Handler: "app.handler"},
		writeFunction(t, map[string]string{"app.py": "print('loading config')\nimport no_such_module\n"}))
	res := e.invoke("broken", nil)
	if res.ErrorType != telemetry.ErrInit || !strings.Contains(string(res.Payload), "Runtime.ImportModuleError") ||
		!strings.Contains(res.LogTail, "loading config") {
		t.Fatalf("%s %s\n%s", res.ErrorType, res.Payload, res.LogTail)
	}
	inv := e.invocations("broken", 1)[0]
	if inv.ErrorType != telemetry.ErrInit || !inv.ColdStart || inv.Status != "Error" || inv.InitMs <= 0 || float64(inv.BilledMs) < inv.InitMs {
		t.Fatalf("span %+v", inv)
	}
	init := e.children(inv.TraceID, inv.SpanID, 1)[0]
	if init.Name != telemetry.InitSpanName || init.Status != "Error" {
		t.Fatalf("init span %+v", init)
	}
}

// Hostile functions: a fork bomb meets the pids limit, output floods are
// bounded, an oversized answer and garbage on the span pipe are refused,
// and the runtime serves the next invocation.
func TestHostileFunctions(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Host.Pids = 32 })
	e.deploy(registry.Config{Name: "hostile", Runtime: registry.Python311, Handler: "app.handler"}, writeFunction(t, map[string]string{"app.py": `
import os, sys, threading, time

def handler(event, context):
    op = event.get("op")
    if op == "threads":
        started = 0
        try:
            for _ in range(200):
                threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
                started += 1
        except RuntimeError as e:
            return {"started": started, "error": str(e)}
        return {"started": started}
    if op == "flood":
        for i in range(20000):
            print("line %d %s" % (i, "x" * 100))
        return "flooded"
    if op == "huge":
        return "x" * (7 << 20)
    if op == "bytes":
        return b"raw"
    if op == "fork":
        return {"child": os.fork() == 0}
    if op == "binary":
        sys.stdout.flush()
        os.write(1, b"bytes \xff\xfe that are not UTF-8\n")
        return "binary"
    if op == "raise":
        raise ValueError("no such order")
    if op == "garbage":
        fd = int(os.environ["COLDTRACE_SPAN_FD"])
        os.write(fd, b"{not json\n" + b"\x00\xff" * 100 + b"\n" + b'{"ev":"end","span":"zz"}\n')
        return "garbage sent"
    return "fine"
`}))
	// The forked child must not answer, nor take the next events (first:
	// the threads below use up the pids limit for a while).
	if res := e.invoke("hostile", map[string]string{"op": "fork"}); string(res.Payload) != `{"child": false}` {
		t.Fatalf("fork: %s %s", res.ErrorType, res.Payload)
	}
	for i := 0; i < 12; i++ {
		if res := e.invoke("hostile", map[string]string{"op": "none"}); string(res.Payload) != `"fine"` || res.ColdStart {
			t.Fatalf("invocation %d after the fork: %s %s cold=%v", i, res.ErrorType, res.Payload, res.ColdStart)
		}
	}
	if e.srv.Limits().Mechanism() == "soft" {
		t.Log("no pids controller here: the thread limit is not checked")
	} else {
		r := decode[map[string]any](t, e.invoke("hostile", map[string]string{"op": "threads"}).Payload)
		if r["started"].(float64) >= 32 || !strings.Contains(r["error"].(string), "can't start new thread") {
			t.Fatalf("threads: %v", r)
		}
	}
	res := e.invoke("hostile", map[string]string{"op": "flood"})
	if string(res.Payload) != `"flooded"` || len(res.LogTail) > 4096 || !strings.Contains(res.LogTail, "line 19999") {
		t.Fatalf("flood: %s, tail of %d bytes", res.Payload, len(res.LogTail))
	}
	// As in Lambda, the stack trace starts in the function's code.
	if res := e.invoke("hostile", map[string]string{"op": "raise"}); res.ErrorType != telemetry.ErrHandler ||
		!strings.Contains(string(res.Payload), `app.py`) || strings.Contains(string(res.Payload), "bootstrap.py") {
		t.Fatalf("raise: %s %s", res.ErrorType, res.Payload)
	}
	if res := e.invoke("hostile", map[string]string{"op": "huge"}); res.ErrorType != telemetry.ErrHandler ||
		!strings.Contains(string(res.Payload), "Function.ResponseSizeTooLarge") {
		t.Fatalf("huge: %s %.200s", res.ErrorType, res.Payload)
	}
	if res := e.invoke("hostile", map[string]string{"op": "bytes"}); res.ErrorType != telemetry.ErrHandler ||
		!strings.Contains(string(res.Payload), `"errorType": "Runtime.MarshalError"`) || !strings.Contains(string(res.Payload), "Unable to marshal response") {
		t.Fatalf("bytes: %s %s", res.ErrorType, res.Payload)
	}
	if res := e.invoke("hostile", map[string]string{"op": "garbage"}); string(res.Payload) != `"garbage sent"` {
		t.Fatalf("garbage: %s", res.Payload)
	}
	if res := e.invoke("hostile", map[string]string{"op": "none"}); string(res.Payload) != `"fine"` || res.ColdStart {
		t.Fatalf("after all that: %s cold=%v", res.Payload, res.ColdStart)
	}
	// Output that is not UTF-8 is kept (repaired) with the span, which is exported.
	if res := e.invoke("hostile", map[string]string{"op": "binary"}); string(res.Payload) != `"binary"` {
		t.Fatalf("binary: %s", res.Payload)
	}
	binary := e.spans(1, schema.ColFunctionName+" = 'hostile' AND "+schema.ColIsInvocation+" AND has("+schema.ColEventsName+", 'log') AND "+
		"arrayExists(a -> a['message'] = ?, "+schema.ColEventsAttributes+")", "bytes \uFFFD that are not UTF-8")
	if len(binary) != 1 {
		t.Fatalf("binary output: %d spans", len(binary))
	}
	flood := e.spans(1, schema.ColFunctionName+" = 'hostile' AND "+schema.ColIsInvocation+" AND has("+schema.ColEventsName+", 'log')")
	if n := len(flood[0].Events); n > 128 || flood[0].Attrs["coldtrace.logs_dropped"] == "" {
		t.Fatalf("flood span has %d events, dropped %q", n, flood[0].Attrs["coldtrace.logs_dropped"])
	}
}

// invokeInTrace calls fn through the Invoke API as a caller in a new
// trace; it returns the answer and the caller's trace and span ids.
func (e *env) invokeInTrace(fn string) (body, traceID, spanID string) {
	e.t.Helper()
	traceID, spanID = randomHex(16), randomHex(8)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost,
		e.srv.URL()+"/2015-03-31/functions/"+fn+"/invocations", bytes.NewReader([]byte(`{}`)))
	req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return readAll(e.t, resp), traceID, spanID
}

// xrayRoot is the start of the X-Ray trace header of traceID.
func xrayRoot(traceID string) string { return "Root=1-" + traceID[:8] + "-" + traceID[8:] + ";Parent=" }

// The Invoke API honours a caller's traceparent like the HTTP trigger.
func TestInvokeAPIHonoursTraceparent(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("traced"), goFunction(t))
	body, traceID, spanID := e.invokeInTrace("traced")
	if got := decode[goResult](t, []byte(body)).TraceID; !strings.HasPrefix(got, xrayRoot(traceID)) {
		t.Fatalf("the function saw trace %q", got)
	}
	inv := e.invocations("traced", 1)[0]
	if inv.TraceID != traceID || inv.ParentSpanID != spanID || inv.Kind != "Server" {
		t.Fatalf("span %+v", inv)
	}
}

// Node and Python handlers find each invocation's trace in
// _X_AMZN_TRACE_ID, as the X-Ray SDKs read it: through process.env and
// os.environ, in enumerations of the environment, and (Node) in a child
// process started with the default environment.
func TestHandlersSeeTheTraceInTheEnvironment(t *testing.T) {
	e := newEnv(t)
	e.deploy(registry.Config{Name: "node-env", Runtime: registry.NodeJS20, Handler: "index.handler"},
		writeFunction(t, map[string]string{"index.js": `exports.handler = async () => ({
			env: process.env._X_AMZN_TRACE_ID, has: '_X_AMZN_TRACE_ID' in process.env,
			listed: Object.keys({ ...process.env }).includes('_X_AMZN_TRACE_ID'),
			child: require('child_process').execSync('printenv _X_AMZN_TRACE_ID').toString().trim(),
			home: process.env.AWS_LAMBDA_FUNCTION_NAME === "node-env" });`}))
	e.deploy(registry.Config{Name: "python-env", Runtime: registry.Python311, Handler: "app.handler"},
		writeFunction(t, map[string]string{"app.py": `import os
def handler(event, context):
    env = os.environ.get("_X_AMZN_TRACE_ID")
    return {"env": env, "has": os.getenv("_X_AMZN_TRACE_ID") == env, "listed": "_X_AMZN_TRACE_ID" in dict(os.environ),
            "child": env, "home": os.environ.get("AWS_LAMBDA_FUNCTION_NAME") == "python-env"}
`}))
	type seen struct {
		Env, Child        string
		Has, Listed, Home bool
	}
	for _, fn := range []string{"node-env", "python-env"} {
		for range 3 { // a new trace each time, in a warm instance after the first
			body, traceID, _ := e.invokeInTrace(fn)
			got := decode[seen](t, []byte(body))
			if !strings.HasPrefix(got.Env, xrayRoot(traceID)) || got.Child != got.Env || !got.Has || !got.Listed || !got.Home {
				t.Errorf("%s in trace %s saw %+v", fn, traceID, got)
			}
		}
	}
}
