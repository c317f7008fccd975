package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/ingest/ingesttest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chtest"
	"github.com/coldtrace/coldtrace/internal/testmain"
	"github.com/coldtrace/coldtrace/runtime/client"
	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
)

// env is a running runtime exporting to a real collector and ClickHouse.
type env struct {
	t     *testing.T
	stack *ingesttest.Stack
	srv   *server.Server
	c     *client.Client
	cfg   server.Config
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("COLDTRACE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func newEnv(t *testing.T, opts ...func(*server.Config)) *env {
	t.Helper()
	e := &env{t: t, stack: ingesttest.Start(t)}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.GatewayAddr = "127.0.0.1:0"
	cfg.Telemetry.Endpoint = "http://" + e.stack.HTTPAddr
	cfg.Telemetry.BatchTimeout = 50 * time.Millisecond
	cfg.Limits.Parent = "coldtrace-test"
	cfg.Queue.RetryDelay = 50 * time.Millisecond
	cfg.Queue.ThrottleDelay = 20 * time.Millisecond
	for _, o := range opts {
		o(&cfg)
	}
	e.cfg = cfg
	e.start()
	return e
}

func (e *env) start() {
	srv, err := server.Start(e.cfg, testLogger())
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.t.Cleanup(func() { e.stop() })
	if e.c, err = client.New(srv.URL()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Stop(ctx); err != nil {
		e.t.Errorf("stopping the runtime: %v", err)
	}
	e.srv = nil
}

// writeFunction writes files into a fresh directory; "bootstrap" is made
// executable.
func writeFunction(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if name == "bootstrap" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (e *env) deploy(cfg registry.Config, dir string) *gateway.FunctionInfo {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	info, err := e.c.Deploy(ctx, cfg, dir, os.Stderr)
	if err != nil {
		e.t.Fatalf("deploy %s: %v", cfg.Name, err)
	}
	return info
}

var (
	goFnOnce sync.Once
	goFnDir  string
	goFnErr  error
)

func TestMain(m *testing.M) {
	testmain.Run(m, func() {
		chtest.RemoveDataDir()
		if goFnDir != "" {
			os.RemoveAll(goFnDir)
		}
	})
}

// goFunction is testdata/gofn (aws-lambda-go) built once per test binary.
func goFunction(t *testing.T) string {
	t.Helper()
	goFnOnce.Do(func() {
		goFnDir, goFnErr = os.MkdirTemp("", "coldtrace-gofn-")
		if goFnErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(goFnDir, "bootstrap"), "./testdata/gofn").CombinedOutput()
		if err != nil {
			goFnErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if goFnErr != nil {
		t.Fatal(goFnErr)
	}
	return goFnDir
}

func (e *env) invoke(name string, payload any) *client.InvokeResult {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := e.c.Invoke(ctx, name, b, true)
	if err != nil {
		e.t.Fatalf("invoke %s: %v", name, err)
	}
	return res
}

// span is a stored row of otel_traces.
type span struct {
	TraceID, SpanID, ParentSpanID, Name, Kind, Service string
	Function, Version, Instance, Trigger               string
	IsInvocation, ColdStart                            bool
	ErrorType                                          string
	InitMs                                             float64
	BilledMs, MaxMemory, MemoryLimit, TimeoutMs        uint64
	Status                                             string
	Attrs                                              map[string]string
	AttrTypes                                          map[string]string
	Events                                             []string
	Duration                                           uint64
}

// spans waits until the query finds at least want spans matching where
// (SQL over otel_traces, args bound positionally) and returns them in
// start order.
func (e *env) spans(want int, where string, args ...any) []span {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY Timestamp`, strings.Join([]string{
		schema.ColTraceID, schema.ColSpanID, schema.ColParentSpanID, schema.ColSpanName, schema.ColSpanKind, schema.ColServiceName,
		schema.ColFunctionName, schema.ColFunctionVersion, schema.ColFaasInstance, schema.ColFaasTrigger,
		schema.ColIsInvocation, schema.ColColdStart, schema.ColErrorType, schema.ColInitDurationMs,
		schema.ColBilledDurationMs, schema.ColMaxMemoryUsedBytes, schema.ColMemoryLimitBytes, schema.ColTimeoutMs,
		schema.ColStatusCode, schema.ColSpanAttributes, schema.ColSpanAttributeTypes, schema.ColEventsName, schema.ColDuration,
	}, ", "), e.stack.Table(schema.TracesTable), where)
	var out []span
	for {
		if e.srv != nil {
			e.srv.Flush(ctx)
		}
		out = out[:0]
		rows, err := e.stack.Client.Query(ctx, q, args...)
		if err != nil {
			e.t.Fatalf("query: %v\n%s", err, q)
		}
		for rows.Next() {
			var s span
			if err := rows.Scan(&s.TraceID, &s.SpanID, &s.ParentSpanID, &s.Name, &s.Kind, &s.Service,
				&s.Function, &s.Version, &s.Instance, &s.Trigger, &s.IsInvocation, &s.ColdStart, &s.ErrorType, &s.InitMs,
				&s.BilledMs, &s.MaxMemory, &s.MemoryLimit, &s.TimeoutMs, &s.Status, &s.Attrs, &s.AttrTypes, &s.Events, &s.Duration); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
		if len(out) >= want {
			return out
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("found %d spans where %s, want %d: %+v", len(out), where, want, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// invocations returns fn's invocation spans, at least want of them.
func (e *env) invocations(fn string, want int) []span {
	e.t.Helper()
	return e.spans(want, schema.ColFunctionName+" = ? AND "+schema.ColIsInvocation, fn)
}

// children returns the spans whose parent is id.
func (e *env) children(traceID, id string, want int) []span {
	e.t.Helper()
	return e.spans(want, schema.ColTraceID+" = ? AND "+schema.ColParentSpanID+" = ?", traceID, id)
}
