package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// examplesDir is the repository's examples/.
func examplesDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// callerTrace invokes a function through the HTTP trigger as a traced
// caller and returns the caller's trace and span ids.
func (e *env) callerTrace(path string) (traceID, spanID string) {
	e.t.Helper()
	traceID, spanID = randomHex(16), randomHex(8)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL()+path, nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if body := readAll(e.t, resp); resp.StatusCode != 200 || !strings.Contains(body, "greeting") {
		e.t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return traceID, spanID
}

// The examples' handler spans (Node through @opentelemetry/api and the
// OTel JS SDK, Python through the bootstrap's tracer) are children of
// the invocation span, which is a child of the caller's span.
func TestHandlerSpansAreChildrenOfTheInvocation(t *testing.T) {
	e := newEnv(t)
	for _, ex := range []struct{ name, runtime, handler string }{
		{"node-hello", "nodejs20", "index.handler"},
		{"python-hello", "python3.11", "app.handler"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			e.deploy(registry.Config{Name: ex.name, Runtime: registry.Runtime(ex.runtime), Handler: ex.handler},
				filepath.Join(examplesDir(t), ex.name))
			traceID, callerSpan := e.callerTrace("/fn/" + ex.name + "/?name=ada")
			inv := e.invocations(ex.name, 1)[0]
			if inv.TraceID != traceID || inv.ParentSpanID != callerSpan || !inv.ColdStart {
				t.Fatalf("invocation span %+v", inv)
			}
			greet := e.spans(1, schema.ColTraceID+" = ? AND "+schema.ColSpanName+" = 'greet'", traceID)[0]
			if greet.ParentSpanID != inv.SpanID || greet.Function != ex.name || greet.IsInvocation || greet.Attrs["greeting"] != "hello ada" {
				t.Fatalf("greet span %+v, want a child of %s", greet, inv.SpanID)
			}
			lookup := e.spans(1, schema.ColTraceID+" = ? AND "+schema.ColSpanName+" = 'lookup-user'", traceID)[0]
			// The handler waits 5 ms with setTimeout, which may fire a little early.
			if lookup.ParentSpanID != greet.SpanID || lookup.Attrs["user.name"] != "ada" || lookup.Duration < 4e6 {
				t.Fatalf("lookup-user span %+v, want a child of %s lasting about 5 ms", lookup, greet.SpanID)
			}
			if !contains(inv.Events, "log") {
				t.Fatalf("the invocation span has no log event: %v", inv.Events)
			}
		})
	}
}

// Spans a function began before it timed out or crashed are exported,
// ended by the host and marked as cut off; so are spans a successful
// invocation left open.
func TestSpansLeftOpenAreCutOff(t *testing.T) {
	e := newEnv(t)
	e.deploy(registry.Config{Name: "stuck", Runtime: registry.Python311, Handler: "app.handler",
		Timeout: registry.Duration(300e6)}, writeFunction(t, map[string]string{"app.py": `
import os, time
from coldtrace import tracer

def handler(event, context):
    with tracer.span("finished", step=1):
        pass
    if event.get("op") == "forget":
        tracer.start_span("forgotten")
        return "ok"
    with tracer.span("waiting", kind="client"):
        if event.get("op") == "crash":
            os._exit(7)
        time.sleep(10)
`}))
	for _, op := range []string{"sleep", "crash", "forget", "forget"} {
		e.invoke("stuck", map[string]string{"op": op})
	}
	inv := e.invocations("stuck", 4)
	wantType := []string{telemetry.ErrTimeout, telemetry.ErrCrash, "", ""}
	for i, s := range inv {
		if s.ErrorType != wantType[i] {
			t.Fatalf("invocation %d: error type %q, want %q", i, s.ErrorType, wantType[i])
		}
		finished := e.spans(1, schema.ColParentSpanID+" = ? AND "+schema.ColSpanName+" = 'finished'", s.SpanID)[0]
		if finished.Attrs[telemetry.AttrCutOff] != "" || finished.Status == "Error" || finished.AttrTypes["step"] != "int" {
			t.Fatalf("invocation %d: a finished span looks cut off: %+v", i, finished)
		}
		name := "waiting"
		if i >= 2 {
			name = "forgotten"
		}
		open := e.spans(1, schema.ColParentSpanID+" = ? AND "+schema.ColSpanName+" = ?", s.SpanID, name)[0]
		if open.Attrs[telemetry.AttrCutOff] != "true" || open.Status != "Error" || open.Duration == 0 {
			t.Fatalf("invocation %d: span %s left open: %+v", i, name, open)
		}
		if i == 0 && open.Kind != "Client" {
			t.Fatalf("cut-off span kind %s", open.Kind)
		}
	}
}
