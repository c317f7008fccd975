package instance_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/runtime/bootstrap"
	"github.com/coldtrace/coldtrace/runtime/instance"
	"github.com/coldtrace/coldtrace/runtime/limits"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/runtimeapi"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// pythonFunction writes app.py into a fresh code directory.
func pythonFunction(t *testing.T, name, code string, memoryMB int) *registry.Function {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return &registry.Function{
		Config: registry.Config{Name: name, Runtime: registry.Python311, Handler: "app.handler",
			MemoryMB: memoryMB, Timeout: registry.Duration(2 * time.Second)}.WithDefaults(),
		Version: 1, CodeDir: dir,
	}
}

var seq int

func start(t *testing.T, fn *registry.Function, lim *limits.Manager) *instance.Instance {
	t.Helper()
	set, err := bootstrap.Install(filepath.Join(t.TempDir(), "bootstrap"), bootstrap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	path, args, env, err := set.Command(fn)
	if err != nil {
		t.Skip(err)
	}
	seq++
	inst, err := instance.Start(instance.Config{
		Function: fn, ID: fn.Name + "-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+seq%26)),
		Path: path, Args: args, Env: append(env, "PATH=/usr/bin:/bin", "_HANDLER="+fn.Handler, "LAMBDA_TASK_ROOT="+fn.CodeDir),
		Limits: lim, Pids: 64, InitTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		inst.Kill("test over")
		<-inst.Exited()
	})
	return inst
}

func manager(t *testing.T, mode limits.Mode) *limits.Manager {
	t.Helper()
	cfg := limits.DefaultConfig()
	cfg.Mode = mode
	cfg.Parent = "coldtrace-test"
	m, err := limits.New(cfg, nil)
	if err != nil {
		t.Skipf("limits %s: %v", mode, err)
	}
	t.Cleanup(m.Close)
	return m
}

func invoke(t *testing.T, inst *instance.Instance, id string, payload any, timeout time.Duration) *instance.Result {
	t.Helper()
	b, _ := json.Marshal(payload)
	res, err := inst.Invoke(runtimeapi.NewInvocation(id, b), timeout)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPythonInvokeAndLogs(t *testing.T) {
	fn := pythonFunction(t, "py", `
print("init line")
def handler(event, context):
    print("hello", event["name"], context.aws_request_id)
    return {"greeting": "hi " + event["name"], "remaining": context.get_remaining_time_in_millis() > 0}
`, 128)
	inst := start(t, fn, manager(t, limits.Auto))
	if err := inst.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, inst, "req-1", map[string]string{"name": "ada"}, 2*time.Second)
	if res.Error != nil {
		t.Fatalf("error: %v", res.Error)
	}
	var out map[string]any
	json.Unmarshal(res.Payload, &out)
	if out["greeting"] != "hi ada" || out["remaining"] != true {
		t.Fatalf("payload %s", res.Payload)
	}
	var texts []string
	for _, l := range res.Logs {
		texts = append(texts, l.Text)
	}
	if strings.Join(texts, "|") != "init line|hello ada req-1" {
		t.Fatalf("logs %q", texts)
	}
	if res.MaxMemory == 0 {
		t.Fatal("no peak memory measured")
	}
	res = invoke(t, inst, "req-2", map[string]string{"name": "bob"}, 2*time.Second)
	if len(res.Logs) != 1 || res.Logs[0].Text != "hello bob req-2" {
		t.Fatalf("second invocation logs %+v", res.Logs)
	}
}

func TestTimeoutKillsTheInstance(t *testing.T) {
	fn := pythonFunction(t, "slow", `
import time
def handler(event, context):
    print("going to sleep")
    time.sleep(30)
`, 128)
	inst := start(t, fn, manager(t, limits.Auto))
	if err := inst.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, inst, "req-1", nil, 300*time.Millisecond)
	if res.ErrorType != telemetry.ErrTimeout || res.Error.ErrorMessage != "Task timed out after 0.30 seconds" {
		t.Fatalf("got %q %v", res.ErrorType, res.Error)
	}
	if inst.Alive() {
		t.Fatal("instance still alive after timeout")
	}
	if len(res.Logs) != 1 || res.Logs[0].Text != "going to sleep" {
		t.Fatalf("logs %+v", res.Logs)
	}
}

func TestCrashAndOOM(t *testing.T) {
	for _, mode := range []limits.Mode{limits.Auto, limits.Soft} {
		t.Run(string(mode), func(t *testing.T) {
			lim := manager(t, mode)
			fn := pythonFunction(t, "crash", `
import os
def handler(event, context):
    os._exit(3)
`, 128)
			inst := start(t, fn, lim)
			if err := inst.WaitReady(context.Background(), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			res := invoke(t, inst, "req-1", nil, 5*time.Second)
			if res.ErrorType != telemetry.ErrCrash || res.Error.ErrorMessage != "Runtime exited with error: exit status 3" {
				t.Fatalf("crash: got %q %v", res.ErrorType, res.Error)
			}

			hog := pythonFunction(t, "hog", `
def handler(event, context):
    blocks = []
    for i in range(400):
        blocks.append(bytearray(1 << 20))
    return len(blocks)
`, 64)
			inst = start(t, hog, lim)
			if err := inst.WaitReady(context.Background(), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			res = invoke(t, inst, "req-2", nil, 10*time.Second)
			if res.ErrorType != telemetry.ErrOutOfMemory || res.Error.ErrorType != "Runtime.OutOfMemory" {
				t.Fatalf("oom (%s): got %q %v", lim.Mechanism(), res.ErrorType, res.Error)
			}
			if res.MaxMemory < 32<<20 {
				t.Fatalf("peak memory %d, want near the 64 MiB limit", res.MaxMemory)
			}
		})
	}
}

// An out-of-memory kill during an invocation that then runs out of time
// is reported as out of memory: here a child the handler waits for is
// killed; under load the same happens when the timer fires as the kernel
// kills the runtime itself.
func TestOOMBeforeTheTimeoutIsOutOfMemory(t *testing.T) {
	lim := manager(t, limits.Auto)
	if lim.Mechanism() == "soft" {
		t.Skip("needs a memory cgroup")
	}
	fn := pythonFunction(t, "childhog", `
import subprocess, sys, time
def handler(event, context):
    subprocess.run([sys.executable, "-c", "b = [bytearray(1 << 20) for _ in range(400)]"])
    time.sleep(30)
`, 64)
	inst := start(t, fn, lim)
	if err := inst.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, inst, "req-1", nil, 3*time.Second)
	if res.ErrorType != telemetry.ErrOutOfMemory || res.Error.ErrorType != "Runtime.OutOfMemory" {
		t.Fatalf("got %q %v, want out of memory", res.ErrorType, res.Error)
	}
}

func TestInitErrors(t *testing.T) {
	cases := map[string]string{
		"syntax":  "def handler(:\n",
		"raises":  "raise RuntimeError('no config')\n",
		"missing": "def other(event, context): pass\n",
	}
	want := map[string]string{
		"syntax":  "Runtime.UserCodeSyntaxError",
		"raises":  "Runtime.ImportModuleError",
		"missing": "Runtime.HandlerNotFound",
	}
	lim := manager(t, limits.Auto)
	for name, code := range cases {
		t.Run(name, func(t *testing.T) {
			inst := start(t, pythonFunction(t, name, code, 128), lim)
			err := inst.WaitReady(context.Background(), 10*time.Second)
			ie, ok := err.(*instance.InitError)
			if !ok {
				t.Fatalf("got %v, want an InitError", err)
			}
			if ie.ErrorType != want[name] {
				t.Fatalf("error type %q (%s), want %q", ie.ErrorType, ie.ErrorMessage, want[name])
			}
			if inst.Alive() {
				t.Fatal("instance alive after init error")
			}
		})
	}
}
